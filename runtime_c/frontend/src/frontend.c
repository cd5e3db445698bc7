/* Framing and windowing: raw int16 audio in, uint8 log-mel features out (see edgenas/frontend.h). */
#include <stddef.h>

#include "edgenas/frontend.h"
#include "frontend_internal.h"
#include "frontend_tables.h"

en_status en_frontend_frame_u8(const int16_t *frame, uint8_t *out, int32_t *scratch) {
    if (frame == NULL || out == NULL || scratch == NULL) {
        return EN_ERR_ARG;
    }
    /* |x * w| <= 32768 * 32767 < 2^30; rounded back to Q0 it stays within int16. */
    for (int n = 0; n < EN_FE_FRAME_SAMPLES; ++n) {
        scratch[n] = ((int32_t)frame[n] * en_fe_window[n] + (1 << (EN_FE_WINDOW_FRAC_BITS - 1))) >>
                     EN_FE_WINDOW_FRAC_BITS;
    }
    for (int n = EN_FE_FRAME_SAMPLES; n < EN_FE_FFT_SIZE; ++n) {
        scratch[n] = 0;
    }
    en_fe_rfft_q(scratch);
    en_fe_mel_u8(scratch, out);
    return EN_OK;
}

en_status en_frontend_u8(const int16_t *audio, int32_t n_samples, uint8_t *out, int32_t out_frames,
                         int32_t *scratch) {
    const int32_t frames = EN_FE_FRAMES(n_samples);
    if (audio == NULL || out == NULL || scratch == NULL || frames == 0 || out_frames < frames) {
        return EN_ERR_ARG;
    }
    for (int32_t f = 0; f < frames; ++f) {
        (void)en_frontend_frame_u8(&audio[f * EN_FE_HOP_SAMPLES], &out[f * EN_FE_MEL_BINS], scratch);
    }
    return EN_OK;
}
