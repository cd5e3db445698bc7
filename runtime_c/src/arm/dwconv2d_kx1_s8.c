/* ARMv7E-M build of en_dwconv2d_kx1_s8 (K x 1 depthwise kernels): same contract and results as
 * ref/dwconv2d_kx1_s8.c (that is, as en_dwconv2d_s8). A separate file and entry point so that
 * firmware without K x 1 layers drops this code (--gc-sections); calls it does not take go to
 * en_dwconv2d_s8.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

#if EN_HAVE_DSP
#define EN_AI static inline __attribute__((always_inline))

static inline int32_t pack_lo16(int32_t lo, int32_t hi) { /* {lo.lo, hi.lo}: PKHBT */
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* ---------------------------------------------------------------------------------------------
 * The Kx1 strategy (en_dwconv2d_kx1_s8): undilated K x 1 kernels, 2 <= K <= KX1_MAX_K, channel
 * counts that are multiples of 4, any stride (in place: stride_w 1), SAME or VALID.
 *
 * One pass, requantisation fused. Each image column is walked down for a group of four
 * channels: one LDR fetches a pixel's four bytes, SXTAB16 gives the halves {c, c+2} and
 * {c+1, c+3} (input offset added), SMLABB/SMLATT accumulate each channel's window sum (weights
 * and bias stored doubled, so the sum is already the 2 * acc that SMMULR wants), and the four
 * sums are requantised and stored as one word:
 *
 *   y = SMMULR(2 acc, m) = SRDHM(acc, m) (en_smmulr), y += y >> 31 only when the activation
 *   range can hold a negative zero-point offset (act_min < output_zp: with act_min >= zp every
 *   acc < 0 gives y <= 0, so both roundings end at act_min), t = y >> (-shift - 1); then for a
 *   channel pair at once, lanes {t_c, t_c+2} (PKHBT), SHADD16 with 2 (zp + 128) + 1 gives
 *   MBQM + zp + 128 (TFLite's rounding divide, ties away from zero: the row engine's rq_fast),
 *   USAT16 to [0, 255] is the int8 clamp in excess-128, ORR of the odd pair shifted by 8 packs
 *   the four bytes, and UQSUB8 (act_min + 128) then UADD8 act_min applies the lower activation
 *   bound and returns to int8 (a byte's + 128 is its ^ 0x80); the general variant also takes
 *   min(u, act_max + 128) (USUB8 of UQSUB8). Lanes are exact when |t| < 2^15 (kx1_group checks
 *   it with the accumulator bound, as it checks en_rq_fits and shift < 0; otherwise the call
 *   goes to the row engine).
 *
 * K = 3 at stride 1 or 2 keeps the window's rows unpacked in registers (one or two new rows per
 * output). Rows outside the image read a word of input_zp bytes (zero after the offset), so
 * padded windows take the same loop: at stride 1 the column's last outputs run on with that
 * word, at stride 2 they (and every output for other K and strides) take the tap loop over the
 * rows inside the image.
 *
 * In place (stride_w 1, so OW = W): output (oh, ow) lands on input pixel (oh, ow) of the same
 * column, only this group's bytes. The rolling loops read each row once, before writing the
 * output row at or above it (pt <= (K - 1) / 2, checked by kx1_plan), and hold the rest of the
 * window in registers; the tap loop re-reads rows, so in place a column's tap-loop outputs wait
 * in a buffer (KX1_COL words) until the column is done, unless (stride 2) they start at an
 * output o >= pt, whose rows o * 2 - pt >= o no earlier output has written.
 * 10x1 stays with the row engine (codegen.KX1_TAPS): through the tap loop it measured 4.9 / 5.1
 * instructions per MAC (2-D s1 / s2) against the row engine's 4.0 / 5.3.
 *
 * Exactness: every product and partial sum is an exact integer (|x - zp| <= 255, |2w| <= 256,
 * at most KX1_MAX_K taps plus bias: the final 2 * acc fits int32, which en_rq_fits checks), so
 * only the summation order differs from ref.
 * ------------------------------------------------------------------------------------------- */

enum { KX1_MAX_K = 4, KX1_COL = 256 }; /* 10x1 measured slower here than in the row engine */

/* One group of four channels: per half (0: channels c, c+2; 1: c+1, c+3) doubled biases,
 * multipliers and rounding shifts; w[2k + h]: tap k's doubled weights of half h as int16 lanes. */
static inline void en_write_u32(int8_t *p, uint32_t v) { __builtin_memcpy(p, &v, sizeof v); }

typedef struct {
    int32_t b[2][2], m[2][2], r[2][2];
    int32_t w[2 * KX1_MAX_K];
    uint32_t zp2, lo, add, hi; /* SHADD16 lanes; UQSUB8 / UADD8 bytes; act_max + 128 bytes */
} kx1_grp;

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
static inline int32_t kx1_pkhbt(int32_t a, int32_t b) {
    int32_t r;
    __asm("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#define kx1_sat_pair(v, zp2) ((uint32_t)__usat16(__shadd16((v), (int16x2_t)(zp2)), 8))
#define kx1_uqsub8(a, b) ((uint32_t)__uqsub8((a), (b)))
#define kx1_uadd8(a, b) ((uint32_t)__uadd8((a), (b)))
#define kx1_usub8(a, b) ((uint32_t)__usub8((a), (b)))
#else
static inline int32_t kx1_pkhbt(int32_t a, int32_t b) { return pack_lo16(a, b); }
static inline uint32_t kx1_sat_pair(int32_t v, uint32_t zp2) { /* USAT16(SHADD16(v, zp2), 8) */
    uint32_t r = 0;
    for (int i = 0; i < 2; ++i) {
        const int32_t s = ((int32_t)(int16_t)(uint16_t)((uint32_t)v >> (16 * i)) +
                           (int32_t)(int16_t)(uint16_t)(zp2 >> (16 * i))) >> 1;
        r |= (uint32_t)(s < 0 ? 0 : (s > 255 ? 255 : s)) << (16 * i);
    }
    return r;
}
static inline uint32_t kx1_bytes(uint32_t a, uint32_t b, int op) { /* 0: UQSUB8, 1: UADD8, 2: USUB8 */
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int32_t x = (int32_t)((a >> i) & 0xFFu), y = (int32_t)((b >> i) & 0xFFu);
        const int32_t s = op == 0 ? (x > y ? x - y : 0) : (op == 1 ? x + y : x - y);
        r |= ((uint32_t)s & 0xFFu) << i;
    }
    return r;
}
#define kx1_uqsub8(a, b) kx1_bytes((a), (b), 0)
#define kx1_uadd8(a, b) kx1_bytes((a), (b), 1)
#define kx1_usub8(a, b) kx1_bytes((a), (b), 2)
#endif

/* The four channels' output bytes from their doubled sums (see the section comment). */
EN_AI uint32_t kx1_out(const kx1_grp *g, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int GEN) {
    int32_t y0 = en_smmulr(a0, g->m[0][0]), y2 = en_smmulr(a2, g->m[0][1]);
    int32_t y1 = en_smmulr(a1, g->m[1][0]), y3 = en_smmulr(a3, g->m[1][1]);
    if (GEN) {
        y0 += y0 >> 31;
        y1 += y1 >> 31;
        y2 += y2 >> 31;
        y3 += y3 >> 31;
    }
    const uint32_t ue = kx1_sat_pair(kx1_pkhbt(y0 >> g->r[0][0], y2 >> g->r[0][1]), g->zp2);
    const uint32_t uo = kx1_sat_pair(kx1_pkhbt(y1 >> g->r[1][0], y3 >> g->r[1][1]), g->zp2);
    uint32_t u = ue | (uo << 8);
    if (GEN) {
        u = kx1_usub8(u, kx1_uqsub8(u, g->hi));
    }
    return kx1_uadd8(kx1_uqsub8(u, g->lo), g->add);
}

/* Tap loop: one output pixel from taps [k0, k1), x at row k0 of its window. */
EN_AI uint32_t kx1_taps(const kx1_grp *g, const int8_t *x, size_t rs, int32_t k0, int32_t k1,
                        int32_t off2, int GEN) {
    int32_t a0 = g->b[0][0], a2 = g->b[0][1], a1 = g->b[1][0], a3 = g->b[1][1];
    const int32_t *w = g->w + 2 * k0;
#pragma GCC unroll 2
    for (int32_t k = k0; k < k1; ++k, x += rs, w += 2) {
        const uint32_t v = en_read_u32(x);
        const int32_t e = __sxtab16(off2, (int8x4_t)v), o = en_sxtab16_ror8(off2, v);
        a0 = __smlabb(e, w[0], a0);
        a2 = __smlatt(e, w[0], a2);
        a1 = __smlabb(o, w[1], a1);
        a3 = __smlatt(o, w[1], a3);
    }
    return kx1_out(g, a0, a1, a2, a3, GEN);
}

typedef struct {
    int32_t H, K, sh, pt, OH;
    size_t rs, ys; /* bytes per input row, per output row */
    int32_t off2;
    int in_place;
} kx1_geo;

/* Outputs [o0, o1) of one column by the tap loop (x: the column at row 0, y: output row 0). */
EN_AI void kx1_col_taps(const kx1_geo *gm, const kx1_grp *g, const int8_t *x, int8_t *y,
                        int32_t o0, int32_t o1, uint32_t *buf, int GEN) {
    for (int32_t o = o0; o < o1; ++o) {
        const int32_t ih0 = o * gm->sh - gm->pt;
        const int32_t k0 = ih0 < 0 ? -ih0 : 0, k1 = gm->H - ih0 < gm->K ? gm->H - ih0 : gm->K;
        const uint32_t v = kx1_taps(g, x + (ptrdiff_t)(ih0 + k0) * (ptrdiff_t)gm->rs, gm->rs, k0,
                                    k1, gm->off2, GEN);
        if (buf != NULL) {
            buf[o - o0] = v;
        } else {
            en_write_u32(y + (size_t)o * gm->ys, v);
        }
    }
    if (buf != NULL) {
        for (int32_t o = o0; o < o1; ++o) {
            en_write_u32(y + (size_t)o * gm->ys, buf[o - o0]);
        }
    }
}

/* Row r of the column at x, or the padding word (input_zp bytes) outside the image. */
static inline uint32_t kx1_row(const kx1_geo *gm, const int8_t *x, int32_t r, uint32_t pad) {
    return r < 0 || r >= gm->H ? pad : en_read_u32(x + (size_t)r * gm->rs);
}

/* K = 3 at stride 1: the window's first two rows held, one new row per output; the last
 * outputs read the padding word (step 0). */
EN_AI void kx1_col3s1(const kx1_geo *gm, const kx1_grp *g, const int8_t *x, int8_t *y,
                      uint32_t pad, int GEN) {
    const int32_t off2 = gm->off2, pt = gm->pt;
    const int32_t w0e = g->w[0], w0o = g->w[1], w1e = g->w[2], w1o = g->w[3], w2e = g->w[4],
                  w2o = g->w[5];
    uint32_t v = kx1_row(gm, x, -pt, pad);
    int32_t e0 = __sxtab16(off2, (int8x4_t)v), o0 = en_sxtab16_ror8(off2, v);
    v = kx1_row(gm, x, 1 - pt, pad);
    int32_t e1 = __sxtab16(off2, (int8x4_t)v), o1 = en_sxtab16_ror8(off2, v);
    int32_t n1 = gm->H + pt - 2;
    n1 = n1 < 0 ? 0 : (n1 > gm->OH ? gm->OH : n1);
    const int8_t *p = x + (ptrdiff_t)(2 - pt) * (ptrdiff_t)gm->rs;
    size_t step = gm->rs;
    const size_t ys = gm->ys;
    for (int32_t n = n1, seg = 0; seg < 2; ++seg, n = gm->OH - n1, p = (const int8_t *)&pad, step = 0) {
        for (; n > 0; --n, p += step, y += ys) {
            v = en_read_u32(p);
            const int32_t e2 = __sxtab16(off2, (int8x4_t)v), o2 = en_sxtab16_ror8(off2, v);
            const int32_t a0 = __smlabb(e2, w2e, __smlabb(e1, w1e, __smlabb(e0, w0e, g->b[0][0])));
            const int32_t a2 = __smlatt(e2, w2e, __smlatt(e1, w1e, __smlatt(e0, w0e, g->b[0][1])));
            const int32_t a1 = __smlabb(o2, w2o, __smlabb(o1, w1o, __smlabb(o0, w0o, g->b[1][0])));
            const int32_t a3 = __smlatt(o2, w2o, __smlatt(o1, w1o, __smlatt(o0, w0o, g->b[1][1])));
            en_write_u32(y, kx1_out(g, a0, a1, a2, a3, GEN));
            e0 = e1;
            e1 = e2;
            o0 = o1;
            o1 = o2;
        }
    }
}

/* K = 3 at stride 2: the window's first row is the previous one's last; two new rows per
 * output while both lie in the image, then the tap loop. */
EN_AI void kx1_col3s2(const kx1_geo *gm, const kx1_grp *g, const int8_t *x, int8_t *y,
                      uint32_t pad, uint32_t *buf, int GEN) {
    const int32_t off2 = gm->off2, pt = gm->pt;
    const int32_t w0e = g->w[0], w0o = g->w[1], w1e = g->w[2], w1o = g->w[3], w2e = g->w[4],
                  w2o = g->w[5];
    int32_t n1 = gm->H + pt - 3 >= 0 ? (gm->H + pt - 3) / 2 + 1 : 0;
    n1 = n1 > gm->OH ? gm->OH : n1;
    if (gm->in_place && n1 < pt) { /* the tap loop would re-read a written row */
        n1 = 0;
    }
    uint32_t v = kx1_row(gm, x, -pt, pad);
    int32_t e0 = __sxtab16(off2, (int8x4_t)v), o0 = en_sxtab16_ror8(off2, v);
    const int8_t *p = x + (ptrdiff_t)(1 - pt) * (ptrdiff_t)gm->rs;
    const size_t rs = gm->rs, ys = gm->ys;
    int8_t *yo = y;
    for (int32_t n = n1; n > 0; --n, p += 2 * rs, yo += ys) {
        const uint32_t v1 = en_read_u32(p), v2 = en_read_u32(p + rs);
        const int32_t e1 = __sxtab16(off2, (int8x4_t)v1), o1 = en_sxtab16_ror8(off2, v1);
        const int32_t e2 = __sxtab16(off2, (int8x4_t)v2), o2 = en_sxtab16_ror8(off2, v2);
        const int32_t a0 = __smlabb(e2, w2e, __smlabb(e1, w1e, __smlabb(e0, w0e, g->b[0][0])));
        const int32_t a2 = __smlatt(e2, w2e, __smlatt(e1, w1e, __smlatt(e0, w0e, g->b[0][1])));
        const int32_t a1 = __smlabb(o2, w2o, __smlabb(o1, w1o, __smlabb(o0, w0o, g->b[1][0])));
        const int32_t a3 = __smlatt(o2, w2o, __smlatt(o1, w1o, __smlatt(o0, w0o, g->b[1][1])));
        en_write_u32(yo, kx1_out(g, a0, a1, a2, a3, GEN));
        e0 = e2;
        o0 = o2;
    }
    kx1_col_taps(gm, g, x, y, n1, gm->OH, n1 == 0 ? buf : NULL, GEN);
}

/* Every column of one channel group. */
EN_AI void kx1_cols(const kx1_geo *gm, const kx1_grp *g, const int8_t *x, size_t xcol,
                    int8_t *y, size_t ycol, int32_t OW, uint32_t pad, uint32_t *buf, int GEN) {
    for (int32_t ow = 0; ow < OW; ++ow, x += xcol, y += ycol) {
        if (gm->K == 3 && gm->sh == 1) {
            kx1_col3s1(gm, g, x, y, pad, GEN);
        } else if (gm->K == 3 && gm->sh == 2) {
            kx1_col3s2(gm, g, x, y, pad, buf, GEN);
        } else {
            kx1_col_taps(gm, g, x, y, 0, gm->OH, buf, GEN);
        }
    }
}

/* Group constants for channels c0..c0+3; 0 when a channel's requantisation is outside the
 * fused form (shift >= 0, accumulator bound past en_rq_fits or the 16-bit lanes). */
static int kx1_group(kx1_grp *g, const en_requant *q, const int8_t *w, const int32_t *bias,
                     int32_t C, int32_t K, int32_t c0) {
    for (int32_t j = 0; j < 4; ++j) {
        const int32_t c = c0 + j, h = j & 1, l = j >> 1, qc = q->per_channel ? c : 0;
        const int32_t b = bias != NULL ? bias[c] : 0, shift = q->shift[qc];
        const int64_t bound = (int64_t)K * 255 * 128 + (b < 0 ? -(int64_t)b : b);
        if (shift >= 0 || !en_rq_fits(bound, shift) || ((bound + 2) >> (-shift - 1)) > 32000) {
            return 0;
        }
        g->b[h][l] = (int32_t)((uint32_t)b << 1);
        g->m[h][l] = q->mult[qc];
        g->r[h][l] = -shift - 1;
    }
    for (int32_t k = 0; k < K; ++k) {
        const int8_t *wt = w + (size_t)k * C + c0;
        g->w[2 * k] = pack_lo16(2 * wt[0], 2 * wt[2]);
        g->w[2 * k + 1] = pack_lo16(2 * wt[1], 2 * wt[3]);
    }
    return 1;
}

/* Whether the Kx1 strategy takes the call (geometry; kx1_group checks the requantisation). */
static int kx1_plan(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                    const en_dims *out_dims, int in_place) {
    if (w_dims->w != 1 || w_dims->h < 2 || w_dims->h > KX1_MAX_K || p->dilation_h != 1 ||
        p->dilation_w != 1 || p->pad_left != 0 || 2 * p->pad_top >= w_dims->h ||
        in_dims->c % 4 != 0 || out_dims->h > KX1_COL ||
        (int64_t)(out_dims->w - 1) * p->stride_w >= in_dims->w) {
        return 0;
    }
    return !in_place || (p->stride_w == 1 && out_dims->w == in_dims->w && out_dims->h <= in_dims->h);
}

static int dw_kx1(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                  const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                  const en_dims *out_dims, int8_t *out) {
    const int32_t C = in_dims->c, K = w_dims->h;
    kx1_grp grp[1];
    for (int32_t c0 = 0; c0 < C; c0 += 4) { /* check every channel before writing anything */
        if (!kx1_group(grp, q, w, bias, C, K, c0)) {
            return 0;
        }
    }
    uint32_t buf[KX1_COL];
    const int32_t offset = -q->input_zp;
    const int in_place = out == in;
    const kx1_geo gm = {in_dims->h, K, p->stride_h, p->pad_top, out_dims->h,
                        (size_t)in_dims->w * C, (size_t)out_dims->w * C,
                        (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u), in_place};
    const uint32_t pad = ((uint32_t)q->input_zp & 0xFFu) * 0x01010101u;
    const uint32_t bytes = 0x01010101u;
    const int gen = q->act_min < q->output_zp || q->act_max < EN_INT8_MAX;
    const size_t in_batch = (size_t)in_dims->h * gm.rs, out_batch = (size_t)out_dims->h * gm.ys;
    grp->zp2 = (uint32_t)(2 * (q->output_zp + 128) + 1) * 0x00010001u;
    grp->lo = (uint32_t)(q->act_min + 128) * bytes;
    grp->add = ((uint32_t)q->act_min & 0xFFu) * bytes;
    grp->hi = (uint32_t)(q->act_max + 128) * bytes;
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        kx1_group(grp, q, w, bias, C, K, c0);
        for (int32_t b = 0; b < in_dims->n; ++b) {
            const int8_t *x = in + (size_t)b * in_batch + c0;
            int8_t *y = out + (size_t)b * out_batch + c0;
            uint32_t *bf = in_place ? buf : NULL;
            const size_t xcol = (size_t)p->stride_w * C;
            if (gen) {
                kx1_cols(&gm, grp, x, xcol, y, (size_t)C, out_dims->w, pad, bf, 1);
            } else {
                kx1_cols(&gm, grp, x, xcol, y, (size_t)C, out_dims->w, pad, bf, 0);
            }
        }
    }
    return 1;
}

#endif

en_status en_dwconv2d_kx1_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                             const int8_t *in, const en_dims *w_dims, const int8_t *w,
                             const int32_t *bias, const en_dims *out_dims, int8_t *out,
                             void *scratch) {
#if EN_HAVE_DSP
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) == EN_OK &&
        kx1_plan(p, in_dims, w_dims, out_dims, out == in) &&
        dw_kx1(p, q, in_dims, in, w_dims, w, bias, out_dims, out)) {
        return EN_OK;
    }
#endif
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
