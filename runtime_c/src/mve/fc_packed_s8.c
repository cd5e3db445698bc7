/* Helium (MVE) build of the fully-connected layer with packed or wide weights and a folded bias:
 * same contract and results as ref/fc_packed_s8.c (en_fc_packed_s8, en_fc_wide_s8).
 *
 * out[b, o] = requant(bias[o] + sum_i w[o, i] * x[b, i]): the input zero point is already in
 * the bias, so raw int8 inputs and weights go straight into VMLADAVA (16 products summed per
 * instruction). A group's rows are interleaved in 4-byte chunks (kernels.h); VLD4 (four rows)
 * or VLD2 (two) de-interleaves 16 inputs' worth of each row into one Q register, so a group of
 * four rows costs per 16 inputs one input load, four VLD4x and four VMLADAVA. A row length
 * that is not a multiple of 16 ends with one predicated step: inputs past the row load as 0, and
 * the rows' remaining chunks come from predicated word gathers (offsets 4 * g apart). The
 * group's accumulators are requantised as one vector (lanes = channels, mve.h).
 * Exactness: as mve/fc_s8.c, every sum is an integer identity modulo 2^32 whose true value
 * en_fc_s8's bound keeps inside int32.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/fc_packed.h"
#include "mve/mve.h"

/* dot[j] = sum_i w_j[i] * x[i] over n inputs for the g rows of the group at wg. */
static void dot_group(const int8_t *x, const int8_t *wg, int32_t n, int32_t g, int32_t dot[4]) {
    int32_t d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    if (g == 4) {
        for (; n >= 16; n -= 16, x += 16, wg += 64) {
            const int8x16_t vx = vldrbq_s8(x);
            const int32x4x4_t v = vld4q_s32((const int32_t *)(const void *)wg);
            d0 = vmladavaq_s8(d0, vreinterpretq_s8_s32(v.val[0]), vx);
            d1 = vmladavaq_s8(d1, vreinterpretq_s8_s32(v.val[1]), vx);
            d2 = vmladavaq_s8(d2, vreinterpretq_s8_s32(v.val[2]), vx);
            d3 = vmladavaq_s8(d3, vreinterpretq_s8_s32(v.val[3]), vx);
        }
    } else if (g == 2) {
        for (; n >= 16; n -= 16, x += 16, wg += 32) {
            const int8x16_t vx = vldrbq_s8(x);
            const int32x4x2_t v = vld2q_s32((const int32_t *)(const void *)wg);
            d0 = vmladavaq_s8(d0, vreinterpretq_s8_s32(v.val[0]), vx);
            d1 = vmladavaq_s8(d1, vreinterpretq_s8_s32(v.val[1]), vx);
        }
    } else {
        for (; n >= 16; n -= 16, x += 16, wg += 16) {
            d0 = vmladavaq_s8(d0, vldrbq_s8(wg), vldrbq_s8(x));
        }
    }
    if (n > 0) {
        const mve_pred16_t px = vctp8q((uint32_t)n);
        const mve_pred16_t pw = vctp32q((uint32_t)(n + 3) / 4u);
        const uint32x4_t off = vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)(4 * g));
        const int8x16_t vx = vldrbq_z_s8(x, px);
        const int32_t *base = (const int32_t *)(const void *)wg;
        d0 = vmladavaq_s8(d0, vreinterpretq_s8_s32(vldrwq_gather_offset_z_s32(base, off, pw)), vx);
        if (g > 1) {
            d1 = vmladavaq_s8(d1, vreinterpretq_s8_s32(vldrwq_gather_offset_z_s32(base + 1, off, pw)), vx);
        }
        if (g > 2) {
            d2 = vmladavaq_s8(d2, vreinterpretq_s8_s32(vldrwq_gather_offset_z_s32(base + 2, off, pw)), vx);
            d3 = vmladavaq_s8(d3, vreinterpretq_s8_s32(vldrwq_gather_offset_z_s32(base + 3, off, pw)), vx);
        }
    }
    dot[0] = d0;
    dot[1] = d1;
    dot[2] = d2;
    dot[3] = d3;
}

/* The same sums on wide weights (kernels.h, en_fc_wide_count): per row, eight inputs at a time,
 * one gather of the row's two chunks (halfword offsets 0..3 and 4 g .. 4 g + 3) and one of the
 * eight inputs in the chunks' lane order (0, 2, 1, 3, ...), sign-extended to int16, then one
 * VMLADAVA; the last 1-7 inputs with predicated (zeroing) gathers. The wide layout is an option
 * for the DSP build (kernels.h); on Helium the packed one is faster (16 MACs per VMLADAVA), and
 * this path only keeps a model compiled with it correct. */
static void dot_group_wide(const int8_t *x, const int8_t *wg, int32_t n, int32_t g,
                           int32_t dot[4]) {
    static const uint16_t lanes[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    const uint16x8_t xoff = vld1q_u16(lanes);
    const uint16x8_t woff = vaddq_u16(vandq_u16(vidupq_n_u16(0u, 1), vdupq_n_u16(3u)),
                                      vmulq_n_u16(vshrq_n_u16(vidupq_n_u16(0u, 1), 2),
                                                  (uint16_t)(4 * g)));
    const int16_t *w = (const int16_t *)(const void *)wg;
    for (int32_t j = 0; j < g; ++j) {
        const int16_t *wr = w + 4 * j;
        const int8_t *xr = x;
        int32_t d = 0, left = n;
        for (; left >= 8; left -= 8, xr += 8, wr += 8 * g) {
            d = vmladavaq_s16(d, vldrhq_gather_shifted_offset_s16(wr, woff),
                              vldrbq_gather_offset_s16(xr, xoff));
        }
        if (left > 0) {
            const mve_pred16_t px = vcmphiq_u16(vdupq_n_u16((uint16_t)left), xoff);
            const mve_pred16_t pw = vctp16q(left > 4 ? 8u : 4u);
            d = vmladavaq_s16(d, vldrhq_gather_shifted_offset_z_s16(wr, woff, pw),
                              vldrbq_gather_offset_z_s16(xr, xoff, px));
        }
        dot[j] = d;
    }
}

/* Both entry points after their checks: each group's sums (dot), plus the bias, requantised as
 * one vector. Inlined into each with its dot function a constant, so that function is inlined
 * too and a build without wide layers links no more code than before. */
static inline __attribute__((always_inline)) void fc_layer(const en_requant *q, int32_t batches, int32_t in_features, const int8_t *in,
                     int32_t out_features, const int8_t *w, size_t esize, const int32_t *bias,
                     int8_t *out,
                     void (*dot_fn)(const int8_t *, const int8_t *, int32_t, int32_t, int32_t *)) {
    const size_t row = en_fc_row_values(in_features) * esize;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * in_features;
        int8_t *y = out + (size_t)b * out_features;
        for (int32_t r0 = 0; r0 < out_features;) {
            const int32_t g = en_fc_group_rows(out_features, r0);
            int32_t dot[4] = {0, 0, 0, 0};
            dot_fn(x, w + (size_t)r0 * row, in_features, g, dot);
            const mve_pred16_t p = vctp32q((uint32_t)g);
            int32x4_t acc = vldrwq_s32(dot);
            if (bias != NULL) {
                acc = vaddq_s32(acc, vldrwq_z_s32(bias + r0, p));
            }
            const en_mve_rq r = g == 4 ? en_mve_rq_channels(q, r0) : en_mve_rq_tail(q, r0, g);
            const int32x4_t v = en_mve_requant(acc, &r, q->output_zp, q->act_min, q->act_max);
            vstrbq_p_s32(y + r0, v, p);
            r0 += g;
        }
    }
}

en_status en_fc_packed_s8(const en_requant *q, int32_t batches, int32_t in_features,
                          const int8_t *in, int32_t out_features, const int8_t *w,
                          const int32_t *bias, int8_t *out) {
    if (en_fc_packed_check_args(q, batches, in_features, in, out_features, w, bias, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    fc_layer(q, batches, in_features, in, out_features, w, 1, bias, out, dot_group);
    return EN_OK;
}

en_status en_fc_wide_s8(const en_requant *q, int32_t batches, int32_t in_features,
                        const int8_t *in, int32_t out_features, const int16_t *w,
                        const int32_t *bias, int8_t *out) {
    const int8_t *wb = (const int8_t *)(const void *)w;
    if (en_fc_packed_check_args(q, batches, in_features, in, out_features, wb, bias, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    fc_layer(q, batches, in_features, in, out_features, wb, 2, bias, out, dot_group_wide);
    return EN_OK;
}
