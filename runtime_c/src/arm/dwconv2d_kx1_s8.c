/* ARMv7E-M build of en_dwconv2d_kx1_s8 (K x 1 depthwise kernels): same contract and results as
 * ref/dwconv2d_kx1_s8.c (that is, as en_dwconv2d_s8). A separate file and entry point so that
 * firmware without K x 1 layers drops this code (--gc-sections); calls it does not take go to
 * en_dwconv2d_s8.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/dw_small.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

#if EN_HAVE_DSP
#define EN_AI static inline __attribute__((always_inline))

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
 * Kernels of 5 taps and more have their own entry point (arm/dwconv2d_kx1_long_s8.c, row
 * pairs): through the tap loop here 10x1 measured 4.9 / 5.1 instructions per MAC (2-D s1 / s2),
 * in row pairs 3.0 / 3.6.
 *
 * Exactness: every product and partial sum is an exact integer (|x - zp| <= 255, |2w| <= 256,
 * at most KX1_MAX_K taps plus bias: the final 2 * acc fits int32, which en_rq_fits checks), so
 * only the summation order differs from ref.
 * ------------------------------------------------------------------------------------------- */

enum { KX1_MAX_K = 4, KX1_COL = 256 }; /* longer kernels: arm/dw_kx1_pairs.c or the row engine */

/* One group of four channels: per half (0: channels c, c+2; 1: c+1, c+3) doubled biases,
 * multipliers and rounding shifts; w[2k + h]: tap k's doubled weights of half h as int16 lanes. */
static inline void en_write_u32(int8_t *p, uint32_t v) { __builtin_memcpy(p, &v, sizeof v); }

typedef struct {
    int32_t b[2][2], m[2][2], r[2][2];
    int32_t w[2 * KX1_MAX_K];
    uint32_t zp2, lo, add, hi; /* SHADD16 lanes; UQSUB8 / UADD8 bytes; act_max + 128 bytes */
} kx1_grp;

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
#define kx1_sat_pair(v, zp2) ((uint32_t)__usat16(__shadd16((v), (int16x2_t)(zp2)), 8))
#define kx1_uqsub8(a, b) ((uint32_t)__uqsub8((a), (b)))
#define kx1_uadd8(a, b) ((uint32_t)__uadd8((a), (b)))
#define kx1_usub8(a, b) ((uint32_t)__usub8((a), (b)))
#else
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
    const uint32_t ue = kx1_sat_pair(en_pkhbt(y0 >> g->r[0][0], y2 >> g->r[0][1]), g->zp2);
    const uint32_t uo = kx1_sat_pair(en_pkhbt(y1 >> g->r[1][0], y3 >> g->r[1][1]), g->zp2);
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

/* Whether channel c's requantisation fits the fused form: shift < 0, the accumulator bound
 * K * 255 * 128 + |bias| inside en_rq_fits (< 2^30 for shift < 0) and its 16-bit lanes
 * ((bound + 2) >> (-shift - 1) <= 32000); in 32 bits, as every term stays below 2^31. */
static inline int kx1_fits1(int32_t b, int32_t shift, int32_t K) {
    const uint32_t ab = b < 0 ? 0u - (uint32_t)b : (uint32_t)b;
    const uint32_t bound = (uint32_t)K * 255u * 128u + ab; /* K <= KX1_MAX_K */
    const int32_t r = -shift - 1;
    return shift < 0 && ab < (1u << 30) && bound < (1u << 30) &&
           (r > 31 ? 0u : (bound + 2u) >> r) <= 32000u;
}
static inline int kx1_fits(const en_requant *q, const int32_t *bias, int32_t K, int32_t c) {
    return kx1_fits1(bias != NULL ? bias[c] : 0, q->shift[q->per_channel ? c : 0], K);
}

/* Every channel's kx1_fits, checked before anything is written. */
static int kx1_all_fit(const en_requant *q, const int32_t *bias, int32_t K, int32_t C) {
    const int32_t *sh = q->shift;
    const int32_t step = q->per_channel ? 1 : 0;
    for (int32_t c = 0; c < C; ++c, sh += step) {
        if (!kx1_fits1(bias != NULL ? bias[c] : 0, *sh, K)) {
            return 0;
        }
    }
    return 1;
}

/* Group constants for channels c0..c0+3; 0 when a channel's requantisation is outside the
 * fused form (kx1_fits). */

static int kx1_group(kx1_grp *g, const en_requant *q, const int8_t *w, const int32_t *bias,
                     int32_t C, int32_t K, int32_t c0) {
    for (int32_t j = 0; j < 4; ++j) {
        const int32_t c = c0 + j, h = j & 1, l = j >> 1, qc = q->per_channel ? c : 0;
        const int32_t b = bias != NULL ? bias[c] : 0, shift = q->shift[qc];
        if (!kx1_fits(q, bias, K, c)) {
            return 0;
        }
        g->b[h][l] = (int32_t)((uint32_t)b << 1);
        g->m[h][l] = q->mult[qc];
        g->r[h][l] = -shift - 1;
    }
    for (int32_t k = 0; k < K; ++k) {
        const int8_t *wt = w + (size_t)k * C + c0;
        g->w[2 * k] = en_pack16(2 * wt[0], 2 * wt[2]);
        g->w[2 * k + 1] = en_pack16(2 * wt[1], 2 * wt[3]);
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

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
/* ---------------------------------------------------------------------------------------------
 * K = 3 at stride 1 and 2, hand-scheduled (kx1_s1_run, kx1_s2_run): the same column walk and the
 * same arithmetic as kx1_col3s1 / kx1_col3s2 above, but with every register chosen by hand, as
 * the compiled loops spend about half their instructions moving the group's 22 constants between
 * the stack and the registers. Here the constants sit at the bottom of the stack frame and come
 * back two to five at a time (LDRD, LDM sp), in the order the loop uses them, so one output of
 * four channels (12 MACs) costs 45 instructions at stride 1 and 47 at stride 2. Registers: r0-r3
 * walk the column (input end, output end, index I, row stride), six hold the window's three rows
 * (even and odd lanes; stride 2: the first row and the two new ones), four are scratch for
 * weights, sums and constants. (A reload is one LDM / LDRD for several words, which is why the
 * frame beats keeping half the constants in registers and spilling the window.)
 *
 * Three changes to the arithmetic, each exact:
 * - no SXTAB16 offset register: the input offset is folded into the (doubled) bias,
 *   2 (bias - input_zp * sum_k w_k), and the taps take SXTB16 of the raw bytes; a padding row is
 *   a row of input_zp, whose taps cancel their share of the folded bias, as ref skips them;
 *   partial sums may wrap but the final sum is the exact 2 * acc (checked by en_rq_fits).
 * - SMMLAR instead of SMMULR, SHADD16: y + Z 2^r in one instruction (Ra is added exactly), with
 *   Z = 2 (output_zp + 128) + 1 the SHADD16 lanes, so y' >> (r + 1) = (t + Z) >> 1 with
 *   t = y >> r: the halving of SHADD16 moves into the per-channel shift (r + 1 <= 22 keeps
 *   Z 2^r + |y| inside int32; kx1_job_make checks it).
 * - only the non-negative rounding form (act_min >= output_zp, act_max = 127: ReLU); the others
 *   keep the C loops.
 * The loops need the output rows to have the input rows' stride (stride_w 1, OW = W): the output
 * goes to [Yend + I] and the input comes from [Bend + I] (stride 2: [Bend + 2 I]), I counting up
 * by the row stride to 0 (ADDS sets the loop's flag). Outputs whose window leaves the image at the
 * top (the first, pad_top 1) or the bottom (the last, one row) read the padding word instead.
 * Stride 1 is unrolled three times so that the window's rows rotate through registers without
 * moves; stride 2 twice. Rows are read before the output row at or above them is written, so
 * both run in place (out == in) as well.
 * ------------------------------------------------------------------------------------------- */

/* Constants (frame offsets), then the walk. Word 0..4 differ: stride 1 takes {W0e, W1e, b0, b2}
 * with one LDM and W2e alone, stride 2 {W0e, W1e, W2e, b0, b2} with one LDM (see the loops). */
enum {
    KJ_M0 = 5, KJ_C0, KJ_M2, KJ_C2, KJ_R0, KJ_R2, /* even half: channels c, c + 2 */
    KJ_W0O, KJ_W1O, KJ_B1, KJ_B3, KJ_W2O, KJ_M1, KJ_C1, KJ_M3, KJ_C3, KJ_R1, KJ_R3,
    KJ_LO, KJ_ADD, KJ_PAD, KJ_PAD2,
    KJ_BEND, KJ_YEND, KJ_XCOL, KJ_YCOL, KJ_BSTOP, KJ_I0, KJ_RS,
    KJ_FLAGS, /* 1: pad top (row -1 of the first output), 2: pad bottom (the last output) */
    KJ_WORDS = 40 /* copied to the frame 8 words at a time */
};
typedef struct {
    int32_t v[KJ_WORDS];
} kx1_job;

/* One stride-1 output: window rows E0, E1 (even lanes) and O0, O1 (odd), new row in E2 / O2.
 * Ends with the four output bytes in E0; r10, r11, r12, lr are scratch. */
#define KX1_S1_CORE(E0, E1, E2, O0, O1, O2)                                                        \
    "ldm sp, {r10, r11, r12, lr}\n\t" /* W0e W1e b0 b2 */                                         \
    "smlabb r12, " E0 ", r10, r12\n\t"                                                            \
    "smlatt lr, " E0 ", r10, lr\n\t"                                                              \
    "smlabb r12, " E1 ", r11, r12\n\t"                                                            \
    "smlatt lr, " E1 ", r11, lr\n\t"                                                              \
    "ldr r10, [sp, #16]\n\t"                                                                      \
    "smlabb r12, " E2 ", r10, r12\n\t"                                                            \
    "smlatt lr, " E2 ", r10, lr\n\t"                                                              \
    KX1_RQ(E0, "20", "28", "36")                                                                  \
    "ldrd r10, r11, [sp, #44]\n\t"                                                                \
    "ldrd r12, lr, [sp, #52]\n\t"                                                                 \
    "smlabb r12, " O0 ", r10, r12\n\t"                                                            \
    "smlatt lr, " O0 ", r10, lr\n\t"                                                              \
    "smlabb r12, " O1 ", r11, r12\n\t"                                                            \
    "smlatt lr, " O1 ", r11, lr\n\t"                                                              \
    "ldr r10, [sp, #60]\n\t"                                                                      \
    "smlabb r12, " O2 ", r10, r12\n\t"                                                            \
    "smlatt lr, " O2 ", r10, lr\n\t"                                                              \
    KX1_RQ(O0, "64", "72", "80")                                                                  \
    KX1_PACK(E0, O0)

/* Sums r12 (lane 0) and lr (lane 1) of a half to its USAT16 pair in D (scratch r10, r11):
 * SMMLAR y + Z 2^r, ASR r + 1, PKHBT, USAT16. MC0 / MC1: offsets of {m, c} per lane, R: {r, r}. */
#define KX1_RQ_S(D, MC0, MC1, R, T0, T1)                                                           \
    "ldrd " T0 ", " T1 ", [sp, #" MC0 "]\n\t"                                                     \
    "smmlar r12, r12, " T0 ", " T1 "\n\t"                                                         \
    "ldrd " T0 ", " T1 ", [sp, #" MC1 "]\n\t"                                                     \
    "smmlar lr, lr, " T0 ", " T1 "\n\t"                                                           \
    "ldrd " T0 ", " T1 ", [sp, #" R "]\n\t"                                                       \
    "asr r12, r12, " T0 "\n\t"                                                                    \
    "asr lr, lr, " T1 "\n\t"                                                                      \
    "pkhbt " D ", r12, lr, lsl #16\n\t"                                                           \
    "usat16 " D ", #8, " D "\n\t"
#define KX1_RQ(D, MC0, MC1, R) KX1_RQ_S(D, MC0, MC1, R, "r10", "r11")

/* Even pair bytes in E, odd in O: E = the four int8 outputs (ORR, then act_min as UQSUB8 /
 * UADD8, see the section above). */
#define KX1_PACK_S(E, O, T0, T1)                                                                   \
    "orr " E ", " E ", " O ", lsl #8\n\t"                                                         \
    "ldrd " T0 ", " T1 ", [sp, #88]\n\t"                                                          \
    "uqsub8 " E ", " E ", " T0 "\n\t"                                                             \
    "uadd8 " E ", " E ", " T1 "\n\t"
#define KX1_PACK(E, O) KX1_PACK_S(E, O, "r10", "r11")

#define KX1_S1_STEP(E0, E1, E2, O0, O1, O2)                                                        \
    "ldr " E2 ", [r0, r2]\n\t"                                                                    \
    "sxtb16 " O2 ", " E2 ", ror #8\n\t"                                                           \
    "sxtb16 " E2 ", " E2 "\n\t"                                                                   \
    KX1_S1_CORE(E0, E1, E2, O0, O1, O2)                                                           \
    "str " E0 ", [r1, r2]\n\t"                                                                    \
    "adds r2, r2, r3\n\t"

/* Column loop shared by both strides: frame set-up (the job copied to the bottom of the frame). */
#define KX1_FRAME_IN                                                                               \
    "push {r4-r11, lr}\n\t"                                                                       \
    "sub sp, sp, #160\n\t"                                                                        \
    "mov r1, sp\n\t"                                                                              \
    "ldm r0!, {r4-r11}\n\t" "stm r1!, {r4-r11}\n\t"                                               \
    "ldm r0!, {r4-r11}\n\t" "stm r1!, {r4-r11}\n\t"                                               \
    "ldm r0!, {r4-r11}\n\t" "stm r1!, {r4-r11}\n\t"                                               \
    "ldm r0!, {r4-r11}\n\t" "stm r1!, {r4-r11}\n\t"                                               \
    "ldm r0!, {r4-r11}\n\t" "stm r1!, {r4-r11}\n\t"                                               \
    "ldr r3, [sp, #128]\n\t" /* row stride */                                                 \
    "ldrd r0, r1, [sp, #104]\n\t" /* Bend, Yend of the first column (kept across columns) */  \
    "ldr r2, [sp, #124]\n\t"      /* I = -n * rs */

/* Next column (Bend += xcol, Yend += ycol), back to label 0 until Bend reaches its stop. */
#define KX1_FRAME_NEXT                                                                             \
    "ldrd r10, r11, [sp, #112]\n\t" /* xcol, ycol */                                              \
    "add r0, r0, r10\n\t"                                                                        \
    "add r1, r1, r11\n\t"                                                                        \
    "ldrd r12, r2, [sp, #120]\n\t" /* Bstop, I0 (for the next column) */                        \
    "cmp r0, r12\n\t"                                                                            \
    "bne 0b\n\t"                                                                                 \
    "add sp, sp, #160\n\t"                                                                       \
    "pop {r4-r11, pc}\n\t"

__attribute__((naked, noinline)) static void kx1_s1_run(const kx1_job *j __attribute__((unused))) {
    __asm volatile(
        KX1_FRAME_IN
        "0:\n\t"
        "add r10, r0, r2\n\t"
        "sub r10, r10, r3\n\t"        /* row 1 - pad_top */
        "ldr r5, [r10]\n\t"
        "sxtb16 r8, r5, ror #8\n\t"
        "sxtb16 r5, r5\n\t"
        "ldr r11, [sp, #132]\n\t"
        "tst r11, #1\n\t"
        "beq 1f\n\t"
        "ldrd r4, r7, [sp, #96]\n\t"  /* row -1: padding */
        "b 2f\n\t"
        "1:\n\t"
        "sub r10, r10, r3\n\t"        /* row 0 */
        "ldr r4, [r10]\n\t"
        "sxtb16 r7, r4, ror #8\n\t"
        "sxtb16 r4, r4\n\t"
        "2:\n\t"
        KX1_S1_STEP("r4", "r5", "r6", "r7", "r8", "r9")
        "beq 5f\n\t"
        KX1_S1_STEP("r5", "r6", "r4", "r8", "r9", "r7")
        "beq 6f\n\t"
        KX1_S1_STEP("r6", "r4", "r5", "r9", "r7", "r8")
        "bne 2b\n\t"
        "b 3f\n\t"
        "5:\n\t"
        "mov r4, r5\n\t" "mov r5, r6\n\t" "mov r7, r8\n\t" "mov r8, r9\n\t"
        "b 3f\n\t"
        "6:\n\t"
        "mov r5, r4\n\t" "mov r4, r6\n\t" "mov r8, r7\n\t" "mov r7, r9\n\t"
        "3:\n\t"
        "ldr r11, [sp, #132]\n\t"
        "tst r11, #2\n\t"
        "beq 4f\n\t"
        "ldrd r6, r9, [sp, #96]\n\t"  /* last output: row H is padding */
        KX1_S1_CORE("r4", "r5", "r6", "r7", "r8", "r9")
        "str r4, [r1, r2]\n\t"
        "4:\n\t"
        KX1_FRAME_NEXT
        );
}

/* One stride-2 output: E0 / O0 the window's first row (the previous window's last); rows a and
 * b come from [r0 + 2 I] and [r4 + 2 I] (LOADB: how row b arrives, into WA / WB). WA, WB: the
 * pair that holds W0e, W1e for the first two taps, then row b (the next E0, O0). Output in E0. */
#define KX1_S2_CORE(E0, O0, WA, WB, LOADB)                                                         \
    "ldr r7, [r0, r2, lsl #1]\n\t"                                                                \
    "sxtb16 r8, r7, ror #8\n\t"                                                                   \
    "sxtb16 r7, r7\n\t"                                                                           \
    "ldm sp, {" WA ", " WB ", r11, r12, lr}\n\t" /* W0e W1e W2e b0 b2 */                          \
    "smlabb r12, " E0 ", " WA ", r12\n\t"                                                         \
    "smlatt lr, " E0 ", " WA ", lr\n\t"                                                           \
    "smlabb r12, r7, " WB ", r12\n\t"                                                             \
    "smlatt lr, r7, " WB ", lr\n\t"                                                               \
    LOADB                                                                                         \
    "smlabb r12, " WA ", r11, r12\n\t"                                                            \
    "smlatt lr, " WA ", r11, lr\n\t"                                                              \
    KX1_RQ_S(E0, "20", "28", "36", "r7", "r11")                                                   \
    "ldrd r12, lr, [sp, #52]\n\t"                                                                 \
    "ldrd r7, r11, [sp, #44]\n\t"                                                                 \
    "smlabb r12, " O0 ", r7, r12\n\t"                                                             \
    "smlatt lr, " O0 ", r7, lr\n\t"                                                               \
    "smlabb r12, r8, r11, r12\n\t"                                                                \
    "smlatt lr, r8, r11, lr\n\t"                                                                  \
    "ldr r7, [sp, #60]\n\t"                                                                       \
    "smlabb r12, " WB ", r7, r12\n\t"                                                             \
    "smlatt lr, " WB ", r7, lr\n\t"                                                               \
    KX1_RQ_S("r8", "64", "72", "80", "r7", "r11")                                                 \
    KX1_PACK_S(E0, "r8", "r7", "r11")                                                             \
    "str " E0 ", [r1, r2]\n\t"

#define KX1_S2_LOADB(WA, WB)                                                                       \
    "ldr " WA ", [r4, r2, lsl #1]\n\t"                                                            \
    "sxtb16 " WB ", " WA ", ror #8\n\t"                                                           \
    "sxtb16 " WA ", " WA "\n\t"

__attribute__((naked, noinline)) static void kx1_s2_run(const kx1_job *j __attribute__((unused))) {
    __asm volatile(
        KX1_FRAME_IN
        "0:\n\t"
        "add r4, r0, r3\n\t"          /* row b base */
        "ldr r11, [sp, #132]\n\t"
        "tst r11, #1\n\t"
        "beq 1f\n\t"
        "ldrd r5, r6, [sp, #96]\n\t"  /* row -1: padding */
        "b 2f\n\t"
        "1:\n\t"
        "add r10, r0, r2, lsl #1\n\t"
        "sub r10, r10, r3\n\t"        /* row 0 */
        "ldr r5, [r10]\n\t"
        "sxtb16 r6, r5, ror #8\n\t"
        "sxtb16 r5, r5\n\t"
        "2:\n\t"
        KX1_S2_CORE("r5", "r6", "r9", "r10", KX1_S2_LOADB("r9", "r10"))
        "adds r2, r2, r3\n\t"
        "beq 5f\n\t"
        KX1_S2_CORE("r9", "r10", "r5", "r6", KX1_S2_LOADB("r5", "r6"))
        "adds r2, r2, r3\n\t"
        "bne 2b\n\t"
        "b 3f\n\t"
        "5:\n\t"
        "mov r5, r9\n\t" "mov r6, r10\n\t"
        "3:\n\t"
        "ldr r11, [sp, #132]\n\t"
        "tst r11, #2\n\t"
        "beq 4f\n\t"
        KX1_S2_CORE("r5", "r6", "r9", "r10", "ldrd r9, r10, [sp, #96]\n\t") /* row b: padding */
        "4:\n\t"
        KX1_FRAME_NEXT
        );
}

/* The group's constants for kx1_s1_run / kx1_s2_run (sh: the stride); 0 when a shift is past
 * the SMMLAR form's range (the C loops take the group). Straight-line: it runs once per group. */
static int kx1_job_make(kx1_job *jb, const en_requant *q, const int8_t *w, const int32_t *bias,
                        int32_t C, int32_t c0, int32_t sh) {
    int32_t *v = jb->v;
    const int32_t z = 2 * (q->output_zp + 128) + 1, zpi = q->input_zp;
    static const int32_t no_bias[4] = {0, 0, 0, 0};
    const int32_t *bp = bias != NULL ? bias + c0 : no_bias;
    const int32_t qs = q->per_channel ? 1 : 0, q0 = qs * c0;
    const int32_t *shp = q->shift + q0, *mp = q->mult + q0;
    /* doubled weights as int16 lanes ({c, c + 2}: e, {c + 1, c + 3}: o) and their sums */
    const uint32_t x0 = en_read_u32(w + c0), x1 = en_read_u32(w + c0 + C),
                   x2 = en_read_u32(w + c0 + 2 * (size_t)C);
    const int32_t e0 = __sxtb16((int8x4_t)x0), e1 = __sxtb16((int8x4_t)x1),
                  e2 = __sxtb16((int8x4_t)x2);
    const int32_t o0 = en_sxtab16_ror8(0, x0), o1 = en_sxtab16_ror8(0, x1),
                  o2 = en_sxtab16_ror8(0, x2);
    const int32_t we0 = __sadd16(e0, e0), we1 = __sadd16(e1, e1), we2 = __sadd16(e2, e2);
    const int32_t wo0 = __sadd16(o0, o0), wo1 = __sadd16(o1, o1), wo2 = __sadd16(o2, o2);
    const int32_t se = __sadd16(__sadd16(we0, we1), we2), so = __sadd16(__sadd16(wo0, wo1), wo2);
    const int32_t sum2[4] = {(int16_t)se, (int16_t)so, se >> 16, so >> 16}; /* 2 sum_k w_k */
    int32_t b[4], m[4], cz[4], r1[4];
#pragma GCC unroll 4
    for (int32_t j = 0; j < 4; ++j) {
        r1[j] = -shp[qs * j];
        if ((uint32_t)(r1[j] - 1) > 21u) { /* r1 in [1, 22] */
            return 0;
        }
        /* 2 (bias - input_zp sum w), modulo 2^32 */
        b[j] = (int32_t)(((uint32_t)bp[j] << 1) - (uint32_t)zpi * (uint32_t)sum2[j]);
        m[j] = mp[qs * j];
        cz[j] = (int32_t)((uint32_t)z << (r1[j] - 1));
    }
    v[0] = we0;
    v[1] = we1;
    if (sh == 1) { /* {W0e, W1e, b0, b2}, W2e */
        v[2] = b[0];
        v[3] = b[2];
        v[4] = we2;
    } else { /* {W0e, W1e, W2e, b0, b2} */
        v[2] = we2;
        v[3] = b[0];
        v[4] = b[2];
    }
    v[KJ_M0] = m[0];
    v[KJ_C0] = cz[0];
    v[KJ_M2] = m[2];
    v[KJ_C2] = cz[2];
    v[KJ_R0] = r1[0];
    v[KJ_R2] = r1[2];
    v[KJ_W0O] = wo0;
    v[KJ_W1O] = wo1;
    v[KJ_B1] = b[1];
    v[KJ_B3] = b[3];
    v[KJ_W2O] = wo2;
    v[KJ_M1] = m[1];
    v[KJ_C1] = cz[1];
    v[KJ_M3] = m[3];
    v[KJ_C3] = cz[3];
    v[KJ_R1] = r1[1];
    v[KJ_R3] = r1[3];
    return 1;
}

/* Whether kx1_s1_run / kx1_s2_run take the call's geometry: outputs [0, n) read rows inside the
 * image but for row -1 (pad_top 1), and at most one last output reads row H (tail). */
static int kx1_fast_geo(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                        const en_dims *out_dims, int32_t *n, int32_t *flags) {
    const int32_t H = in_dims->h, OH = out_dims->h, pt = p->pad_top, sh = p->stride_h;
    if (w_dims->h != 3 || (sh != 1 && sh != 2) || out_dims->w != in_dims->w || pt > 1) {
        return 0;
    }
    /* the last output whose rows all lie above row H: o * sh + 2 - pt <= H - 1 */
    const int32_t last = H - 3 + pt >= 0 ? (H - 3 + pt) / sh : -1;
    *n = last + 1 < OH ? last + 1 : OH;
    const int32_t tail = OH - *n;
    if (*n < 1 || tail > 1 || (tail == 1 && (OH - 1) * sh + 1 - pt > H - 1)) {
        return 0;
    }
    *flags = pt | (tail << 1);
    return 1;
}
#endif

static int dw_kx1(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                  const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                  const en_dims *out_dims, int8_t *out) {
    const int32_t C = in_dims->c, K = w_dims->h;
    kx1_grp grp[1];
    if (!kx1_all_fit(q, bias, K, C)) { /* check every channel before writing anything */
        return 0;
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
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t fast_n = 0, fast_flags = 0;
    const int fast = !gen && kx1_fast_geo(p, in_dims, w_dims, out_dims, &fast_n, &fast_flags);
    kx1_job job;
    void (*run)(const kx1_job *) = p->stride_h == 1 ? kx1_s1_run : kx1_s2_run;
    size_t first = 0, last_out = 0;
    if (fast) { /* the per-call words of the job */
        const uint32_t bytes = 0x01010101u;
        const int32_t pt = p->pad_top, n = fast_n;
        job.v[KJ_LO] = (int32_t)((uint32_t)(q->act_min + 128) * bytes);
        job.v[KJ_ADD] = (int32_t)(((uint32_t)q->act_min & 0xFFu) * bytes);
        job.v[KJ_PAD] = job.v[KJ_PAD2] = (int32_t)(((uint32_t)q->input_zp & 0xFFFFu) * 0x00010001u);
        job.v[KJ_XCOL] = (int32_t)((size_t)p->stride_w * C);
        job.v[KJ_YCOL] = C;
        job.v[KJ_I0] = -(int32_t)((size_t)n * gm.rs);
        job.v[KJ_RS] = (int32_t)gm.rs;
        job.v[KJ_FLAGS] = fast_flags;
        /* Bend: the first loop row (stride 1: 2 - pt, stride 2: 1 - pt) plus n loop steps */
        first = p->stride_h == 1 ? (size_t)(2 - pt + n) * gm.rs : (size_t)(1 - pt + 2 * n) * gm.rs;
        last_out = (size_t)n * gm.ys;
    }
#endif
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
        if (fast && kx1_job_make(&job, q, w, bias, C, c0, p->stride_h)) {
            for (int32_t b = 0; b < in_dims->n; ++b) {
                job.v[KJ_BEND] = (int32_t)(intptr_t)(in + (size_t)b * in_batch + c0 + first);
                job.v[KJ_BSTOP] = (int32_t)((uint32_t)job.v[KJ_BEND] +
                                            (uint32_t)out_dims->w * (uint32_t)job.v[KJ_XCOL]);
                job.v[KJ_YEND] = (int32_t)(intptr_t)(out + (size_t)b * out_batch + c0 + last_out);
                run(&job);
            }
            continue;
        }
#endif
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
        (en_dw_small(p, q, in_dims, in, w_dims, w, bias, out_dims, out) ||
         (kx1_plan(p, in_dims, w_dims, out_dims, out == in) &&
          dw_kx1(p, q, in_dims, in, w_dims, w, bias, out_dims, out)))) {
        return EN_OK;
    }
#endif
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
