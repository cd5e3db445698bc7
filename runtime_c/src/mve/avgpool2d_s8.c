/* Helium (MVE) build of 2-D average pooling: same contract, checks and results as
 * ref/avgpool2d_s8.c.
 *
 * Per output pixel, 16 channels at a time: the window's in-bounds taps are summed as four int32x4
 * vectors (widening VLDRB.S32 loads, so no lane can overflow: at most 2^16 taps of |x| <= 128),
 * then each channel's sum is divided by the tap count exactly as the reference does,
 * (sum +- count / 2) / count with C's truncating division, and clamped. A last group of fewer
 * than 16 channels loads with a predicate (inactive lanes read 0 and are not stored).
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"
#include "mve/mve.h"

/* The reference's argument checks (ref/avgpool2d_s8.c), so both builds reject the same calls. */
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

/* Sums of the window rows [kh0, kh1) x columns [kw0, kw1) (x = the window's top-left pixel at
 * channel c) for n <= 16 channels, into sum[0..16). */
static void window_sums(const int8_t *x, int32_t row_step, int32_t C, int32_t rows, int32_t cols,
                        int32_t n, int32_t sum[16]) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
    if (n == 16) {
        for (int32_t r = 0; r < rows; ++r, x += row_step) {
            const int8_t *px = x;
            for (int32_t k = 0; k < cols; ++k, px += C) {
                s0 = vaddq_s32(s0, vldrbq_s32(px));
                s1 = vaddq_s32(s1, vldrbq_s32(px + 4));
                s2 = vaddq_s32(s2, vldrbq_s32(px + 8));
                s3 = vaddq_s32(s3, vldrbq_s32(px + 12));
            }
        }
    } else {
        const mve_pred16_t p0 = vctp32q((uint32_t)n), p1 = vctp32q((uint32_t)en_max_i32(n - 4, 0));
        const mve_pred16_t p2 = vctp32q((uint32_t)en_max_i32(n - 8, 0));
        const mve_pred16_t p3 = vctp32q((uint32_t)en_max_i32(n - 12, 0));
        for (int32_t r = 0; r < rows; ++r, x += row_step) {
            const int8_t *px = x;
            for (int32_t k = 0; k < cols; ++k, px += C) {
                s0 = vaddq_s32(s0, vldrbq_z_s32(px, p0));
                s1 = vaddq_s32(s1, vldrbq_z_s32(px + 4, p1));
                s2 = vaddq_s32(s2, vldrbq_z_s32(px + 8, p2));
                s3 = vaddq_s32(s3, vldrbq_z_s32(px + 12, p3));
            }
        }
    }
    vstrwq_s32(sum, s0);
    vstrwq_s32(sum + 4, s1);
    vstrwq_s32(sum + 8, s2);
    vstrwq_s32(sum + 12, s3);
}

en_status en_avgpool2d_s8(const en_pool_params *p, const en_dims *in_dims, const int8_t *in,
                          const en_dims *out_dims, int8_t *out) {
    if (pool_check(p, in_dims, in, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    const int32_t C = in_dims->c, W = in_dims->w;
    int32_t sum[16] __attribute__((aligned(16)));
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            const int32_t kh0 = en_max_i32(0, -ih0);
            const int32_t kh1 = en_min_i32(p->filter_h, in_dims->h - ih0);
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                const int32_t kw0 = en_max_i32(0, -iw0);
                const int32_t kw1 = en_min_i32(p->filter_w, W - iw0);
                const int32_t count = (kh1 - kh0) * (kw1 - kw0), half = count / 2;
                /* en_check_conv guarantees every window touches the input. */
                const int8_t *x = in + (((size_t)b * in_dims->h + ih0 + kh0) * W + iw0 + kw0) * C;
                int8_t *y = out + (((size_t)b * out_dims->h + oh) * out_dims->w + ow) * C;
                for (int32_t c = 0; c < C; c += 16) {
                    const int32_t n = en_min_i32(16, C - c);
                    window_sums(x + c, W * C, C, kh1 - kh0, kw1 - kw0, n, sum);
                    for (int32_t j = 0; j < n; ++j) {
                        const int32_t s = sum[j];
                        const int32_t avg = s > 0 ? (s + half) / count : (s - half) / count;
                        y[c + j] = (int8_t)en_clamp_i32(avg, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return EN_OK;
}
