/* From the front end's uint8 log-mel image to a square network's int8 input, in integers only.
 *
 * Bilinear resize (the map of torch's align_corners=False, which the networks train with), with
 * the source position of output index d held exactly as ((2d + 1) * in - out) / (2 * out), clamped
 * at 0, and each axis's weight rounded to EN_FE_RESIZE_FRAC_BITS; the four taps are summed in
 * int32 and rounded half up to uint8, then the input zero point is added (int8 = u8 - 128 for the
 * compiled subnets' input scale 1/255). Bit-exact with edgenas/audio/glue.py, which the int8
 * evaluation of keyword models also uses. No tables, no scratch, no float.
 */
#ifndef EDGENAS_FRONTEND_RESIZE_H
#define EDGENAS_FRONTEND_RESIZE_H

#include <stdint.h>

#include "edgenas/kernels.h" /* en_status */

#ifdef __cplusplus
extern "C" {
#endif

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
