/* Keyword-spotting front end: log-mel features from raw int16 audio, in integer arithmetic only.
 *
 * Per 30 ms frame (480 samples at 16 kHz, hop 320): periodic Hann window (Q15), a 512-point real
 * FFT in fixed point (our own: radix-2 on 256 complex points plus a split step), power spectrum,
 * 40 triangular mel filters (Q12), integer log2 (Q16) and a linear map to uint8. One second of
 * audio gives 49 x 40 uint8 features, the "image" the network reads.
 *
 * Bit-exact with the Python reference edgenas/audio/frontend.py, which trains the network;
 * tests/audio checks the two on synthesised keyword clips. The constants live in
 * frontend_config.h and frontend_tables.c, both generated from Python (python -m
 * edgenas.audio.ctables). No malloc, no float, no mutable statics; tables are const (flash).
 */
#ifndef EDGENAS_FRONTEND_H
#define EDGENAS_FRONTEND_H

#include <stdint.h>

#include "edgenas/frontend_config.h"
#include "edgenas/kernels.h" /* en_status */

#ifdef __cplusplus
extern "C" {
#endif

/** Frames in n samples: 0 below one frame, 49 for one second. */
#define EN_FE_FRAMES(n_samples) \
    ((n_samples) < EN_FE_FRAME_SAMPLES ? 0 : 1 + ((n_samples) - EN_FE_FRAME_SAMPLES) / EN_FE_HOP_SAMPLES)

/** int32 words of scratch every call needs: the FFT's 257 complex bins (2,056 bytes). */
#define EN_FE_SCRATCH_WORDS (EN_FE_FFT_SIZE + 2)

/** Features of one frame.
 * @param[in]  frame   int16 [EN_FE_FRAME_SAMPLES] raw samples
 * @param[out] out     uint8 [EN_FE_MEL_BINS]: 0 = log2 energy <= 12, +1 per 1/7.25 doubling, 255 max
 * @param[in]  scratch int32 [EN_FE_SCRATCH_WORDS], caller-owned, any contents
 * @return EN_OK, or EN_ERR_ARG on a NULL pointer (out untouched) */
en_status en_frontend_frame_u8(const int16_t *frame, uint8_t *out, int32_t *scratch);

/** Features of a clip, frame after frame.
 * @param[in]  audio      int16 [n_samples]
 * @param[in]  n_samples  at least EN_FE_FRAME_SAMPLES
 * @param[out] out        uint8 [EN_FE_FRAMES(n_samples)][EN_FE_MEL_BINS], time-major
 * @param[in]  out_frames capacity of out in frames (at least EN_FE_FRAMES(n_samples))
 * @param[in]  scratch    int32 [EN_FE_SCRATCH_WORDS]
 * @return EN_OK, or EN_ERR_ARG on a NULL pointer, too few samples or too small an out (out untouched) */
en_status en_frontend_u8(const int16_t *audio, int32_t n_samples, uint8_t *out, int32_t out_frames,
                         int32_t *scratch);

/** 512-point real FFT in place.
 * @param[in,out] buf int32 [EN_FE_SCRATCH_WORDS]: in, 512 real samples with |x| <= 32767 in buf[0..511];
 *                    out, bins k = 0..256 of 2*X[k] as (re, im) pairs in buf[2k], buf[2k+1].
 *                    2X rather than X: the split step's halving is left to the power shift. */
void en_fe_rfft_q(int32_t *buf);

/** log2(max(e, 1)) in Q16 for e < 2^63: top bit plus a 65-entry table, linearly interpolated. */
int32_t en_fe_log2_q16(int64_t e);

/* From the uint8 log-mel image to a square network's int8 input (frontend_resize.c), in integers:
 * bilinear resize with the map of torch's align_corners=False that the networks train with; the
 * source position of output index d is held exactly as ((2d + 1) * in - out) / (2 * out), clamped
 * at 0, each axis's weight rounded to EN_FE_RESIZE_FRAC_BITS; the four taps are summed in int32
 * and rounded half up to uint8, then the input zero point is added (int8 = u8 - 128 for the
 * compiled subnets' input scale 1/255). Bit-exact with edgenas/audio/glue.py, which the int8
 * evaluation of keyword models also uses. No tables, no scratch, no float. */

/** Weight bits per axis: four taps of 255 * 2^20 stay inside int32. */
#define EN_FE_RESIZE_FRAC_BITS 10

/** Resize a uint8 image and shift it to int8.
 * @param[in]  in         uint8 [in_h][in_w], row-major (for the log-mel image: frames x mel bins)
 * @param[out] out        int8 [out_h][out_w]: clamp(resized + zero_point, -128, 127)
 * @param[in]  zero_point added to the resized uint8 value (-128 for scale 1/255)
 * @return EN_OK, or EN_ERR_ARG on a NULL pointer or a size below 1 or above 4096 (out untouched) */
en_status en_fe_resize_u8_to_s8(const uint8_t *in, int32_t in_h, int32_t in_w, int8_t *out, int32_t out_h,
                                int32_t out_w, int32_t zero_point);

#ifdef __cplusplus
}
#endif

#endif
