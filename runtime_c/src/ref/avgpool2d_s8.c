/* Portable reference 2-D average pooling, TFLite int8 semantics.
 *
 * Each output is the sum of the in-bounds taps divided by their count (padding is not counted),
 * rounded half away from zero: (sum +- count/2) / count with C's truncating division. Input and
 * output share one quantisation, so no requantisation happens. Sum bound: 127 * taps, taps <=
 * filter_h * filter_w (checked <= 2^16 so the int32 sum cannot overflow).
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"

static en_status pool_check(const en_pool_params *p, const en_dims *in_dims, const int8_t *in,
                            const en_dims *out_dims, const int8_t *out) {
    if (p == NULL || in == NULL || out == NULL || en_check_act(p->act_min, p->act_max) != EN_OK) {
        return EN_ERR_ARG;
    }
    if ((int64_t)p->filter_h * p->filter_w > 65536) {
        return EN_ERR_ARG;
    }
    const en_conv_params g = {p->stride_h, p->stride_w, 1, 1, p->pad_top, p->pad_left};
    const en_dims w_dims = {1, p->filter_h, p->filter_w, in_dims != NULL ? in_dims->c : 0};
    if (en_check_conv(&g, in_dims, &w_dims, out_dims, 1) != EN_OK) {
        return EN_ERR_ARG;
    }
    if (en_overlaps(in, (size_t)en_dims_count(in_dims), out, (size_t)en_dims_count(out_dims))) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

en_status en_avgpool2d_s8(const en_pool_params *p, const en_dims *in_dims, const int8_t *in,
                          const en_dims *out_dims, int8_t *out) {
    if (pool_check(p, in_dims, in, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    const int32_t C = in_dims->c;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            const int32_t kh0 = en_max_i32(0, -ih0);
            const int32_t kh1 = en_min_i32(p->filter_h, in_dims->h - ih0);
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                const int32_t kw0 = en_max_i32(0, -iw0);
                const int32_t kw1 = en_min_i32(p->filter_w, in_dims->w - iw0);
                const int32_t count = (kh1 - kh0) * (kw1 - kw0);
                /* en_check_conv guarantees every window touches the input. */
                for (int32_t c = 0; c < C; ++c) {
                    int32_t sum = 0;
                    for (int32_t kh = kh0; kh < kh1; ++kh) {
                        for (int32_t kw = kw0; kw < kw1; ++kw) {
                            const size_t i =
                                (((size_t)b * in_dims->h + ih0 + kh) * in_dims->w + iw0 + kw) * C +
                                c;
                            sum += in[i];
                        }
                    }
                    const int32_t avg =
                        sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    out[(((size_t)b * out_dims->h + oh) * out_dims->w + ow) * C + c] =
                        (int8_t)en_clamp_i32(avg, p->act_min, p->act_max);
                }
            }
        }
    }
    return EN_OK;
}
