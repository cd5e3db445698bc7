/* Integer bilinear resize of the log-mel image to the network's input (see edgenas/frontend.h). */
#include <stddef.h>

#include "edgenas/frontend.h"

#define EN_FE_RESIZE_MAX 4096

/* Taps and second-tap weight of output index d for an axis of n_in -> n_out. */
static void resize_tap(int32_t d, int32_t n_in, int32_t n_out, int32_t *i0, int32_t *i1, int32_t *w1) {
    int32_t num = (2 * d + 1) * n_in - n_out; /* source position * 2 * n_out; < 2^25 for sizes <= 4096 */
    const int32_t den = 2 * n_out;
    if (num < 0) {
        num = 0;
    }
    *i0 = num / den;
    const int32_t frac = num - *i0 * den;
    *w1 = (frac * (1 << EN_FE_RESIZE_FRAC_BITS) + n_out) / den;
    *i1 = *i0 + 1 < n_in ? *i0 + 1 : n_in - 1;
}

en_status en_fe_resize_u8_to_s8(const uint8_t *in, int32_t in_h, int32_t in_w, int8_t *out, int32_t out_h,
                                int32_t out_w, int32_t zero_point) {
    if (in == NULL || out == NULL || in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1 || in_h > EN_FE_RESIZE_MAX ||
        in_w > EN_FE_RESIZE_MAX || out_h > EN_FE_RESIZE_MAX || out_w > EN_FE_RESIZE_MAX) {
        return EN_ERR_ARG;
    }
    const int32_t one = 1 << EN_FE_RESIZE_FRAC_BITS;
    const int32_t half = 1 << (2 * EN_FE_RESIZE_FRAC_BITS - 1);
    for (int32_t y = 0; y < out_h; ++y) {
        int32_t y0, y1, wy;
        resize_tap(y, in_h, out_h, &y0, &y1, &wy);
        const uint8_t *top = &in[y0 * in_w];
        const uint8_t *bottom = &in[y1 * in_w];
        for (int32_t x = 0; x < out_w; ++x) {
            int32_t x0, x1, wx;
            resize_tap(x, in_w, out_w, &x0, &x1, &wx);
            /* Each product <= 255 * 2^20; the four weights sum to 2^20, so acc <= 255 * 2^20. */
            const int32_t acc = (one - wy) * (one - wx) * top[x0] + (one - wy) * wx * top[x1] +
                                wy * (one - wx) * bottom[x0] + wy * wx * bottom[x1];
            int32_t v = ((acc + half) >> (2 * EN_FE_RESIZE_FRAC_BITS)) + zero_point;
            v = v < -128 ? -128 : (v > 127 ? 127 : v);
            out[y * out_w + x] = (int8_t)v;
        }
    }
    return EN_OK;
}
