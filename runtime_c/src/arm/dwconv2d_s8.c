/* ARMv7E-M build of the depthwise convolution: same contract and results as ref/dwconv2d_s8.c.
 *
 * Calls on small maps with a channel count that is a multiple of 4 go first to the small-map
 * strategy (arm/dw_small_s8.c, internal/dw_small.h: which calls it takes is decided there).
 * Undilated windows of 16 to 64 taps strided by 2 or more on both axes (5x5, 7x7 at stride 2)
 * take the direct strategy (dw_direct: int8 taps straight from the input, four channels per
 * tap) when the compiler calls en_dwconv2d_strided_s8 for them, and so do the small maps that end
 * an MCU net (under 8x8 outputs, direct_small) from en_dwconv2d_s8. Other undilated calls run
 * through the row engine below: any stride, SAME or VALID, any channel
 * count, in place or not, square, rectangular, Kx1 and 1xK kernels whose window fits 64
 * halfwords (KW x KH rounded up to even: up to 8x8, 1x64, 64x1), as long as a row of the
 * chosen orientation fits its 2 KB stack ring (out of place, wider rows go in tiles). Other
 * calls keep the older paths: pixel-major out of place (four channels, taps paired for SMLAD)
 * and the per-channel plane copy in place (dw_plane_fast, or common/dw_plane.c).
 * Accumulator bound as ref: KH*KW terms < 2^15 each; exact sums, so order is free.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/dw_plane.h"
#include "internal/dw_small.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

#if EN_HAVE_DSP
/* Low halves of a and b as {a.lo, b.lo}; high halves as {a.hi, b.hi} (compile to PKHBT/PKHTB). */
static inline int16x2_t pack_lo(int32_t a, int32_t b) {
    return (int16x2_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16));
}
static inline int16x2_t pack_hi(int32_t a, int32_t b) {
    return (int16x2_t)(((uint32_t)a >> 16) | ((uint32_t)b & 0xFFFF0000u));
}

/* acc[0..3] += sum over the tap pair of w * (x + offset) for channels c..c+3. */
static inline void mac4_pair(const int8_t *xa, const int8_t *xb, const int8_t *wa,
                             const int8_t *wb, int32_t off2, int32_t acc[4]) {
    const uint32_t xav = en_read_u32(xa), xbv = en_read_u32(xb);
    const uint32_t wav = en_read_u32(wa), wbv = en_read_u32(wb);
    const int32_t xa_e = __sxtab16(off2, (int8x4_t)xav);
    const int32_t xa_o = __sxtab16(off2, (int8x4_t)en_ror8(xav));
    const int32_t xb_e = __sxtab16(off2, (int8x4_t)xbv);
    const int32_t xb_o = __sxtab16(off2, (int8x4_t)en_ror8(xbv));
    const int32_t wa_e = __sxtb16((int8x4_t)wav), wa_o = __sxtb16((int8x4_t)en_ror8(wav));
    const int32_t wb_e = __sxtb16((int8x4_t)wbv), wb_o = __sxtb16((int8x4_t)en_ror8(wbv));
    acc[0] = __smlad(pack_lo(xa_e, xb_e), pack_lo(wa_e, wb_e), acc[0]);
    acc[1] = __smlad(pack_lo(xa_o, xb_o), pack_lo(wa_o, wb_o), acc[1]);
    acc[2] = __smlad(pack_hi(xa_e, xb_e), pack_hi(wa_e, wb_e), acc[2]);
    acc[3] = __smlad(pack_hi(xa_o, xb_o), pack_hi(wa_o, wb_o), acc[3]);
}
#endif

enum { MAX_TAPS = 64 }; /* taps per window handled by the pixel-major path (8x8) */

#if EN_HAVE_DSP
enum { PLANE_MAX_K = 8 }; /* kernel rows / columns handled by the fast plane path */

static inline int32_t pack16(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* One channel from its contiguous plane copy (the in-place strategy's scratch), out[.., c].
 *
 * Narrow kernels (KW <= 4, W >= 4): every kernel row of every window is one 4-byte word of the
 * input row, read at ws = clamp(iw0, 0, W - 4). Lane j of that word is tap kw = j - d with
 * d = iw0 - ws, so with the filter row re-laid as int16 pairs {w[-d], w[2-d]}, {w[1-d], w[3-d]}
 * (0 outside [0, KW)) two SMLADs per kernel row cover the window: taps outside the row get no
 * lane (the word lies inside the row), and every in-row tap of the window lies inside the word
 * (KW <= 4). d only ranges over [-3, 3], so the pairs are tabulated once per channel.
 * Wider kernels use groups of 4 columns for windows wholly inside the row and a scalar loop
 * for the others. Accumulator bound and exactness as en_dw_channel. */
static void dw_plane_fast(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                          const int8_t *plane, const en_dims *w_dims, const int8_t *w,
                          const int32_t *bias, const en_dims *out_dims, int8_t *out, int32_t c) {
    const int32_t C = in_dims->c, H = in_dims->h, W = in_dims->w;
    const int32_t KH = w_dims->h, KW = w_dims->w;
    const int32_t groups = (KW + 3) / 4;
    const int32_t span = 4 * groups; /* bytes read per kernel row */
    const int narrow = KW <= 4 && W >= 4;
    const int32_t offset = -q->input_zp;
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    /* narrow: wt[d + 3][kh] (lane pairs for shift d); wide: wt[g][kh] for column group g */
    int32_t wt[7][PLANE_MAX_K][2];
    const int32_t variants = narrow ? 7 : groups;
    for (int32_t v = 0; v < variants; ++v) {
        for (int32_t kh = 0; kh < KH; ++kh) {
            int32_t k[4];
            for (int32_t j = 0; j < 4; ++j) {
                const int32_t kw = narrow ? j - (v - 3) : 4 * v + j;
                k[j] = kw >= 0 && kw < KW ? w[((size_t)kh * KW + kw) * C + c] : 0;
            }
            wt[v][kh][0] = pack16(k[0], k[2]);
            wt[v][kh][1] = pack16(k[1], k[3]);
        }
    }
    const int32_t qc = q->per_channel ? c : 0;
    const int32_t mult = q->mult[qc], shift = q->shift[qc];
    const int32_t b0 = bias != NULL ? bias[c] : 0;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        const int8_t *pl = plane + (size_t)b * H * W;
        int8_t *ob = out + (size_t)b * out_dims->h * out_dims->w * C + c;
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            int32_t kh0 = 0, kh1 = KH;
            while (kh0 < KH && ih0 + kh0 * p->dilation_h < 0) {
                ++kh0;
            }
            while (kh1 > kh0 && ih0 + (kh1 - 1) * p->dilation_h >= H) {
                --kh1;
            }
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                int32_t acc = b0;
                if (narrow && iw0 > -KW && iw0 < W) {
                    const int32_t ws = iw0 < 0 ? 0 : (iw0 > W - 4 ? W - 4 : iw0);
                    const int32_t(*wd)[2] = wt[iw0 - ws + 3];
                    const int8_t *x = pl + (size_t)(ih0 + kh0 * p->dilation_h) * W + ws;
                    const size_t row_step = (size_t)p->dilation_h * W;
                    for (int32_t kh = kh0; kh < kh1; ++kh, x += row_step) {
                        const uint32_t v = en_read_u32(x);
                        acc = __smlad(__sxtab16(off2, (int8x4_t)v), wd[kh][0], acc);
                        acc = __smlad(__sxtab16(off2, (int8x4_t)en_ror8(v)), wd[kh][1], acc);
                    }
                } else if (!narrow && iw0 >= 0 && iw0 + span <= W) {
                    for (int32_t kh = kh0; kh < kh1; ++kh) {
                        const int8_t *x = pl + (size_t)(ih0 + kh * p->dilation_h) * W + iw0;
                        for (int32_t g = 0; g < groups; ++g, x += 4) {
                            const uint32_t v = en_read_u32(x);
                            acc = __smlad(__sxtab16(off2, (int8x4_t)v), wt[g][kh][0], acc);
                            acc = __smlad(__sxtab16(off2, (int8x4_t)en_ror8(v)), wt[g][kh][1], acc);
                        }
                    }
                } else {
                    for (int32_t kh = kh0; kh < kh1; ++kh) {
                        const int8_t *x = pl + (size_t)(ih0 + kh * p->dilation_h) * W;
                        for (int32_t kw = 0; kw < KW; ++kw) {
                            const int32_t iw = iw0 + kw;
                            if (iw >= 0 && iw < W) {
                                acc += (int32_t)w[((size_t)kh * KW + kw) * C + c] *
                                       ((int32_t)x[iw] + offset);
                            }
                        }
                    }
                }
                ob[((size_t)oh * out_dims->w + ow) * C] =
                    en_requant_fast(acc, mult, shift, q->output_zp, q->act_min, q->act_max);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The row engine: every undilated call whose rows fit the stack, in place or not.
 *
 * View. The engine runs on a "view" of the call: rows and columns of the image, with the kernel
 * KH x KW. A K x 1 kernel (KW == 1 < KH) is transposed (view rows are image columns), so the
 * taps of one output lie along a view row: a 10 x 1 kernel over a [T, 1] time series becomes a
 * 1 x 10 kernel over one row of T pixels. Other kernels take the orientation with the longer
 * output rows, as each row costs a fixed setup per channel (KWS's 25x5 maps: 5 rows of 25).
 *
 * Ring. For a group of g channels (4, 2 or 1) the stack holds, per channel, the KH input rows the
 * current output row reads, expanded to int16 (x - input_zp) and stored column by column: ring
 * column j holds the KH rows' values at input column j - pad_left in KHp consecutive halfwords
 * (KHp = KH rounded up to even, the spare slot zero; KHp = 1 when KH == 1). Row r lives in slot
 * (r + pad_top) mod KH and replaces the row KH before it, so each input row is expanded once
 * per group (one LDR, two SXTAB16 and four STRH for four channels), and padding columns and
 * rows are zeros (a padding tap contributes w * 0), so the window loops have no bounds checks.
 *
 * Window. The taps of output column ow are then KW * KHp consecutive halfwords starting at column
 * ow * stride_w: a dot product of int32 words (word-aligned when KHp is even) against the filter
 * laid out the same way, one SMLAD per two taps. Because slots rotate, the filter is laid out
 * once per rotation (KH layouts per channel, kernel row (slot - rot) mod KH in slot `slot`, zeros
 * in spare slots and padding words); output row oh uses rotation (oh * stride_h) mod KH.
 *
 * Passes. Per output row and channel, pass 1 writes the window sums to a stack band (3x3: a
 * hand-scheduled loop of two outputs sharing their overlapping columns, ~10 instructions per
 * output; larger even-KHp windows: two outputs sharing each filter LDRD; one-row windows: the
 * filter in registers); pass 2 requantises a band of up to 64 outputs per channel with its
 * constants in registers (SMMULR form, ~9 instructions per output). Fused, the two loops would
 * need ~17 registers and spill.
 *
 * In place (out == in) is safe without scratch: group g's outputs land only on group g's bytes,
 * and output row oh (flat pixels < (oh + 1) * OW <= (oh + 1) * W) is written after every input
 * row up to oh * stride_h - pad_top + KH - 1 >= oh entered the ring, so no input that is still
 * to be read is overwritten. Transposed, output column ow lands on input column ow when OW == W
 * (required), which is in the ring by then. Out of place, rows too wide for the ring are cut
 * into tiles of output columns (re-expanding the KW - stride_w overlapping columns).
 *
 * Exactness: every product and partial sum is an exact integer (|x - zp| <= 255, |w| <= 128,
 * at most 64 taps plus bias), so only the summation order differs from ref.
 * ------------------------------------------------------------------------------------------- */

enum {
    ROW_RING_HALVES = 1024, /* expanded rows of one channel group: 2 KB of stack */
    ROW_WROT_WORDS = 320,   /* the group's filter layouts, one per rotation: 1.25 KB of stack */
    ROW_MAX_T = 64,         /* halfwords per window (KW * KHp): up to 8x8, 1x64, 64x1 */
    ROW_BAND = 64,          /* output pixels accumulated before requantisation: 1 KB of stack */
    ROW_ACC = ROW_BAND + 2  /* a channel's accumulators, with room for the pair loop's extra */
};

/* Word access to the int16 ring and the filter layouts (GCC/Clang attributes: an int32 view of
 * int16 data that may alias it; en_w32u is only 2-byte aligned, for windows at odd halfwords,
 * which ARMv7-M loads with one unaligned LDR). */
typedef int32_t en_w32a __attribute__((may_alias, aligned(4)));
typedef int32_t en_w32u __attribute__((may_alias, aligned(2)));
typedef int16_t en_h16 __attribute__((may_alias));

typedef struct {
    int32_t rows, cols, out_rows, out_cols;  /* view extents */
    int32_t kh, kw, sh, sw, pt, pl;          /* view kernel, strides and leading padding */
    int32_t khp;                             /* ring slots per column */
    int32_t n;                               /* words per window layout (ceil(kw * khp / 2), */
                                             /* to a multiple of 4 for acc_aligned) */
    size_t in_row, in_col, out_row, out_col; /* byte strides of a view row / column */
    size_t w_row, w_col;                     /* filter tap strides (times C) of a view row / col */
    int32_t g_max, tile;                     /* channels per group; output columns per tile */
} row_plan;

/* Ring halfwords one channel needs for a tile of tw output columns: its (tw - 1) * sw + kw
 * columns, one window more (the pair loops compute an even number of outputs and drop the
 * last), and four spare words (read, times zero weights, past a window padded to n words).
 * Each channel of a group of g owns ROW_RING_HALVES / g of the ring, so its offset is a
 * constant. */
static int32_t row_ring_halves(const row_plan *v, int32_t tw) {
    return (tw * v->sw + v->kw) * v->khp + 8;
}

/* 3x3 windows at stride 1 or 2 take the pair kernel (acc3x3_pairs, six-word layout); other
 * windows of even khp take acc_aligned (layout padded to a multiple of four words). */
#define ROW_3X3(v) ((v)->khp == 4 && (v)->kw == 3 && (v)->sw <= 2)

/* The view of a call, transposed (view rows = image columns) or not; 0 if the engine cannot
 * take it in that orientation (window over ROW_MAX_T halfwords, or too many filter layouts). */
static int row_view(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                    const en_dims *out_dims, int transpose, row_plan *v) {
    const int32_t W = in_dims->w, C = in_dims->c, OW = out_dims->w;
    if (transpose) {
        v->rows = W, v->cols = in_dims->h, v->out_rows = OW, v->out_cols = out_dims->h;
        v->kh = w_dims->w, v->kw = w_dims->h, v->sh = p->stride_w, v->sw = p->stride_h;
        v->pt = p->pad_left, v->pl = p->pad_top;
        v->in_row = (size_t)C, v->in_col = (size_t)W * C;
        v->out_row = (size_t)C, v->out_col = (size_t)OW * C;
        v->w_row = 1, v->w_col = (size_t)w_dims->w;
    } else {
        v->rows = in_dims->h, v->cols = W, v->out_rows = out_dims->h, v->out_cols = OW;
        v->kh = w_dims->h, v->kw = w_dims->w, v->sh = p->stride_h, v->sw = p->stride_w;
        v->pt = p->pad_top, v->pl = p->pad_left;
        v->in_row = (size_t)W * C, v->in_col = (size_t)C;
        v->out_row = (size_t)OW * C, v->out_col = (size_t)C;
        v->w_row = (size_t)w_dims->w, v->w_col = 1;
    }
    v->khp = v->kh == 1 ? 1 : v->kh + (v->kh & 1);
    v->n = (v->kw * v->khp + 1) / 2;
    if (v->khp > 1 && !ROW_3X3(v)) {
        v->n = (v->n + 3) & ~3; /* whole steps of acc_aligned's four-word loop (zero words) */
    }
    return v->pt < v->kh && v->pl < v->kw && /* always so for SAME / VALID */
           v->kw * v->khp <= ROW_MAX_T && v->kh * v->n <= ROW_WROT_WORDS;
}

/* The widest channel group (4, 2, 1) whose filter layouts fit and, with tile > 0, whose ring
 * holds `tile` output columns; 0 if none. */
static int32_t row_group(const row_plan *v, int32_t C, int32_t tile) {
    for (int32_t g = 4; g >= 1; g /= 2) {
        if (g <= C && g * v->kh * v->n <= ROW_WROT_WORDS &&
            (tile == 0 || (int64_t)row_ring_halves(v, tile) <= ROW_RING_HALVES / g)) {
            return g;
        }
    }
    return 0;
}

/* Whether the row engine takes this call, and its view, group size and tile width.
 * Orientation: a Kx1 kernel is transposed (its taps then lie along a view row), a 1xK one not;
 * otherwise the longer output rows win, since every output row costs a fixed setup per channel
 * (KWS's 25x5 maps run as 5 rows of 25). In place, transposing needs OW == W (see dw_rows). */
static int row_plan_make(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                         const en_dims *out_dims, int in_place, row_plan *v) {
    const int32_t KH = w_dims->h, KW = w_dims->w, OH = out_dims->h, OW = out_dims->w;
    if (p->dilation_h != 1 || p->dilation_w != 1 ||
        (in_place && (OH > in_dims->h || OW > in_dims->w))) {
        return 0;
    }
    const int can_t = !in_place || OW == in_dims->w;
    const int prefer_t = can_t && ((KW == 1 && KH > 1) || (KH > 1 && OH > OW));
    for (int attempt = 0; attempt < 2; ++attempt) { /* whole rows, preferred orientation first */
        const int t = attempt == 0 ? prefer_t : !prefer_t;
        if ((t && !can_t) || !row_view(p, in_dims, w_dims, out_dims, t, v)) {
            continue;
        }
        v->g_max = row_group(v, in_dims->c, v->out_cols);
        if (v->g_max > 0) {
            v->tile = v->out_cols;
            return 1;
        }
    }
    /* Out of place, rows too wide for the ring are cut into tiles of output columns (in place,
     * a tile would overwrite columns the next tile reads). */
    if (in_place || !row_view(p, in_dims, w_dims, out_dims, prefer_t, v)) {
        return 0;
    }
    v->g_max = row_group(v, in_dims->c, 0);
    if (v->g_max == 0) {
        return 0;
    }
    const int32_t cols_fit = (ROW_RING_HALVES / v->g_max - 8) / v->khp; /* ring columns */
    v->tile = cols_fit < v->kw ? 0 : (cols_fit - v->kw) / v->sw;
    return v->tile >= 1;
}

/* Per channel of a group: requantisation and which loop applies. */
typedef struct {
    int32_t bias, bias2, mult, shift;
    en_rq rq;
    int fits;  /* en_rq_apply is exact for every accumulator (en_rq_fits) */
    int fast;  /* fits and -22 <= shift <= -1: row_rq's folded SMMLAR form (en_rq_fold) */
    int32_t r, k; /* fast: -shift and (2 * output_zp + 1) << (r - 1) */
    int clamp; /* 0: act range is int8's; 1: act_min only (act_max 127); 2: both */
} row_chan;

/* Channel c's requantisation for a window of `taps` taps. */
static void row_chan_make(row_chan *ch, const en_requant *q, const int32_t *bias, int32_t c,
                          int32_t taps) {
    const int32_t qc = q->per_channel ? c : 0;
    ch->bias = bias != NULL ? bias[c] : 0;
    ch->bias2 = (int32_t)((uint32_t)ch->bias << 1);
    ch->mult = q->mult[qc];
    ch->shift = q->shift[qc];
    ch->rq = en_rq_make(ch->mult, ch->shift, q->output_zp, q->act_min, q->act_max);
    const int64_t bound = (int64_t)taps * 255 * 128 + (ch->bias < 0 ? -(int64_t)ch->bias : ch->bias);
    ch->fits = en_rq_fits(bound, ch->shift);
    ch->fast = ch->fits && ch->shift < 0 && ch->shift >= -22; /* en_rq_fold_ok, spelled out (as in
                                                                 * dwconv3x3_s8.c) */
    ch->r = -ch->shift;
    ch->k = ch->fast ? en_rq_fold_k(2 * q->output_zp + 1, ch->shift) : 0;
    ch->clamp = q->act_max < EN_INT8_MAX ? 2 : (q->act_min > EN_INT8_MIN ? 1 : 0);
}

static inline int32_t pack_hi16(int32_t lo, int32_t hi) { /* {lo.hi, hi.hi}: PKHTB */
    return (int32_t)(((uint32_t)lo >> 16) | ((uint32_t)hi & 0xFFFF0000u));
}

/* Expand `count` input pixels (byte stride `step`, channels c..c+g-1 at x) into ring halfwords
 * d[i * khp] of each channel's ring (channel k's at d + k * rc), as x - input_zp: one LDR and
 * two SXTAB16 give four channels ({c, c+2}, {c+1, c+3}, offset added), LDRH and the same two
 * give two. With khp == 1 (one-row windows) a channel's consecutive pixels are adjacent
 * halfwords, so two pixels are packed into one word store per channel. */
static void row_expand(int16_t *d, int32_t rc, int32_t khp, int32_t g, const int8_t *x,
                       size_t step, int32_t count, int32_t off2) {
    int16_t *d1 = d + rc, *d2 = d + 2 * rc, *d3 = d + 3 * rc;
    const int32_t offset = (int16_t)off2;
    int32_t i = 0;
    if (g == 1) {
        for (; count > 0; --count, x += step, i += khp) {
            d[i] = (int16_t)(x[0] + offset);
        }
        return;
    }
    if (khp == 1 && ((uintptr_t)d & 2u) != 0 && count > 0) { /* to a word boundary */
        const uint32_t v =
            g == 4 ? en_read_u32(x) : (uint32_t)(uint8_t)x[0] | (uint32_t)(uint8_t)x[1] << 8;
        const int32_t e = __sxtab16(off2, (int8x4_t)v), o = en_sxtab16_ror8(off2, v);
        d[0] = (int16_t)e;
        d1[0] = (int16_t)o;
        if (g == 4) {
            d2[0] = (int16_t)(e >> 16);
            d3[0] = (int16_t)(o >> 16);
        }
        --count, x += step, i = 1;
    }
    if (khp == 1 && g == 4) {
        for (; count >= 2; count -= 2, x += 2 * step, i += 2) {
            const uint32_t v0 = en_read_u32(x), v1 = en_read_u32(x + step);
            const int32_t e0 = __sxtab16(off2, (int8x4_t)v0), o0 = en_sxtab16_ror8(off2, v0);
            const int32_t e1 = __sxtab16(off2, (int8x4_t)v1), o1 = en_sxtab16_ror8(off2, v1);
            *(en_w32a *)(void *)(d + i) = en_pack16(e0, e1);
            *(en_w32a *)(void *)(d1 + i) = en_pack16(o0, o1);
            *(en_w32a *)(void *)(d2 + i) = pack_hi16(e0, e1);
            *(en_w32a *)(void *)(d3 + i) = pack_hi16(o0, o1);
        }
    } else if (khp == 1) { /* g == 2 */
        for (; count >= 2; count -= 2, x += 2 * step, i += 2) {
            /* bytes {c p0, c+1 p0, c p1, c+1 p1}: SXTAB16 yields each channel's pixel pair */
            uint16_t h0, h1;
            __builtin_memcpy(&h0, x, 2);
            __builtin_memcpy(&h1, x + step, 2);
            const uint32_t v = (uint32_t)h0 | (uint32_t)h1 << 16;
            *(en_w32a *)(void *)(d + i) = __sxtab16(off2, (int8x4_t)v);
            *(en_w32a *)(void *)(d1 + i) = en_sxtab16_ror8(off2, v);
        }
    }
    if (g == 4) {
        for (; count > 0; --count, x += step, i += khp) {
            const uint32_t v = en_read_u32(x);
            const int32_t e = __sxtab16(off2, (int8x4_t)v), o = en_sxtab16_ror8(off2, v);
            d[i] = (int16_t)e;
            d1[i] = (int16_t)o;
            d2[i] = (int16_t)(e >> 16);
            d3[i] = (int16_t)(o >> 16);
        }
    } else {
        for (; count > 0; --count, x += step, i += khp) {
            d[i] = (int16_t)(x[0] + offset);
            d1[i] = (int16_t)(x[1] + offset);
        }
    }
}

/* Zero the first `halves` halfwords (even) of each of g channel rings, rc apart: padding columns
 * and rows, and the spare slot, are never written again. Four words per step. */
static void row_clear(int16_t *ring, int32_t rc, int32_t g, int32_t halves) {
    for (int32_t k = 0; k < g; ++k) {
        en_w32a *w = (en_w32a *)(void *)(ring + k * rc);
        int32_t i = halves / 2;
        for (; i >= 4; i -= 4, w += 4) {
            w[0] = w[1] = w[2] = w[3] = 0;
        }
        for (; i > 0; --i) {
            *w++ = 0;
        }
    }
}

/* Zeros in place of an expanded row (a padding row below the image). */
static void row_zero(int16_t *d, int32_t rc, int32_t khp, int32_t g, int32_t count) {
    for (int32_t k = 0; k < g; ++k, d += rc) {
        for (int32_t i = 0; i < count; ++i) {
            d[i * khp] = 0;
        }
    }
}

/* Filter layouts of the group: wr[(rot * g + k) * n + i] is channel c0 + k's int16 pair for
 * window halfwords 2i, 2i + 1 (halfword t = column * khp + slot) when kernel row 0 sits in
 * slot `rot` (slot s then holds kernel row (s - rot) mod kh; spare slots are zero). This runs
 * once per group, but on small maps (KWS: 125 outputs per channel) it is a visible share, so the
 * taps are gathered once per channel and 3-row kernels get a direct loop. */
static void row_layout(const row_plan *v, const int8_t *w, int32_t C, int32_t c0, int32_t g,
                       int32_t *wr) {
    const size_t row_step = v->w_row * (size_t)C, col_step = v->w_col * (size_t)C;
    const int32_t kh = v->kh, kw = v->kw, khp = v->khp, n = v->n;
    for (int32_t k = 0; k < g; ++k) {
        int16_t tap[ROW_MAX_T]; /* tap[kr * kw + col] */
        const int8_t *wc = w + c0 + k;
        for (int32_t kr = 0, t = 0; kr < kh; ++kr) {
            const int8_t *pr = wc + (size_t)kr * row_step;
            for (int32_t col = 0; col < kw; ++col, ++t, pr += col_step) {
                tap[t] = *pr;
            }
        }
        for (int32_t rot = 0; rot < kh; ++rot) {
            int32_t *wk = wr + ((size_t)rot * g + k) * n;
            if (kh == 3) { /* column words {row (0 - rot), row (1 - rot)}, {row (2 - rot), 0} */
                const int16_t *r0 = tap + (rot == 0 ? 0 : 3 - rot) * kw;
                const int16_t *r1 = tap + (rot == 1 ? 0 : (rot == 0 ? 1 : 2)) * kw;
                const int16_t *r2 = tap + (rot == 2 ? 0 : 2 - rot) * kw;
                for (int32_t col = 0; col < kw; ++col) {
                    wk[2 * col] = en_pack16(r0[col], r1[col]);
                    wk[2 * col + 1] = en_pack16(r2[col], 0);
                }
                for (int32_t i = 2 * kw; i < n; ++i) {
                    wk[i] = 0; /* padding words */
                }
                continue;
            }
            en_h16 *h = (en_h16 *)(void *)wk;
            for (int32_t t = kw * khp; t < 2 * n; ++t) {
                h[t] = 0; /* past the window: an odd window's last halfword, padding words */
            }
            for (int32_t col = 0; col < kw; ++col, h += khp) {
                /* slots 0..rot-1 hold kernel rows kh-rot..kh-1, slots rot..kh-1 rows 0.. */
                const int16_t *tc = tap + col;
                int32_t slot = 0;
                for (int32_t kr = kh - rot; kr < kh && rot > 0; ++kr) {
                    h[slot++] = tc[kr * kw];
                }
                for (int32_t kr = 0; slot < kh; ++kr) {
                    h[slot++] = tc[kr * kw];
                }
                for (; slot < khp; ++slot) {
                    h[slot] = 0;
                }
            }
        }
    }
}

#define EN_AI static inline __attribute__((always_inline))

typedef uint64_t en_w64a __attribute__((may_alias, aligned(4))); /* two ring words: one LDRD */

/* Pass 1 of one channel, windows of KW ring columns of CW (= khp / 2) words each, S columns
 * apart: acc[i] = window i's dot product with the filter words. Two outputs per step share the
 * KW - S columns their windows overlap (loaded once, two LDRDs per column for 3x3), and the
 * KW * CW filter words live in registers (locals: stores to acc could alias wr, so reading wr
 * in the loop would reload them). Bias is added in pass 2. */
EN_AI void acc_cols(const int16_t *x, const int32_t *wr, int32_t KW, int32_t CW, int32_t S,
                    int32_t *acc, int32_t count) {
    int32_t wk[8][4];
#pragma GCC unroll 8
    for (int32_t j = 0; j < KW; ++j) {
#pragma GCC unroll 4
        for (int32_t t = 0; t < CW; ++t) {
            wk[j][t] = wr[j * CW + t];
        }
    }
    const en_w32a *xw = (const en_w32a *)(const void *)x;
    int32_t i = 0;
    for (; i + 1 < count; i += 2, xw += 2 * S * CW) {
        int32_t a0 = 0, a1 = 0;
        uint64_t d = 0;
#pragma GCC unroll 16
        for (int32_t j = 0; j < KW + S; ++j) {
#pragma GCC unroll 8
            for (int32_t t = 0; t < CW; ++t) {
                int32_t v;
                if (t % 2 == 0 && t + 1 < CW) { /* this word and the next: one LDRD */
                    d = *(const en_w64a *)(const void *)(xw + j * CW + t);
                    v = (int32_t)(uint32_t)d;
                } else if (t % 2 == 1) {
                    v = (int32_t)(uint32_t)(d >> 32);
                } else {
                    v = xw[j * CW + t];
                }
                if (j < KW) {
                    a0 = j == 0 && t == 0 ? __smuad(v, wk[j][t]) : __smlad(v, wk[j][t], a0);
                }
                if (j >= S) {
                    a1 = j == S && t == 0 ? __smuad(v, wk[j - S][t])
                                          : __smlad(v, wk[j - S][t], a1);
                }
            }
        }
        acc[i] = a0;
        acc[i + 1] = a1;
    }
    if (i < count) {
        int32_t a0 = 0;
#pragma GCC unroll 8
        for (int32_t j = 0; j < KW; ++j) {
#pragma GCC unroll 4
            for (int32_t t = 0; t < CW; ++t) {
                a0 = __smlad(xw[j * CW + t], wk[j][t], a0);
            }
        }
        acc[i] = a0;
    }
}

/* Pass 1 of one channel for one-row windows (khp == 1: 1xK, or Kx1 transposed) of N words at
 * any halfword offset (one unaligned LDR each), xstep halfwords apart; filter in registers. */
EN_AI void acc_row(const int16_t *x, int32_t xstep, const int32_t *wr, int32_t N, int32_t *acc,
                   int32_t count) {
    int32_t wk[8];
#pragma GCC unroll 8
    for (int32_t i = 0; i < N; ++i) {
        wk[i] = wr[i];
    }
#pragma GCC unroll 2
    for (int32_t *end = acc + count; acc < end; ++acc, x += xstep) {
        const en_w32u *xu = (const en_w32u *)(const void *)x;
        int32_t a = __smuad(xu[0], wk[0]);
#pragma GCC unroll 8
        for (int32_t i = 1; i < N; ++i) {
            a = __smlad(xu[i], wk[i], a);
        }
        *acc = a;
    }
}

/* Pass 1 of one channel, any window: two words per step, filter words from memory (large
 * windows, where the loads are a small share). */
static void acc_any(const int16_t *x, int32_t xstep, const int32_t *wr, int32_t n,
                    int32_t *acc, int32_t count) {
    for (int32_t *end = acc + count; acc < end; ++acc, x += xstep) {
        const en_w32u *xu = (const en_w32u *)(const void *)x;
        const int32_t *wk = wr;
        int32_t a = 0, i = n;
        for (; i >= 2; i -= 2, xu += 2, wk += 2) {
            a = __smlad(xu[0], wk[0], a);
            a = __smlad(xu[1], wk[1], a);
        }
        if (i) {
            a = __smlad(xu[0], wk[0], a);
        }
        *acc = a;
    }
}

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP) && defined(__OPTIMIZE__)
/* Hand-scheduled loops need 12-13 free registers: optimised target builds only (-O0 keeps a
 * frame pointer and operands on the stack), C elsewhere. */
#define EN_DW_ASM 1
/* 3x3 pass 1 on the target, two outputs per step (the C of acc_cols, scheduled by hand: GCC
 * splits the LDRDs and spills). A 3x3 window is 3 columns of two words, {slot 0, slot 1} and
 * {slot 2, 0}; w0..w2 are the first words of the columns' filter, wp = {col 0, col 1} and
 * wq = {col 2, -} their slot-2 halves, so the 12 words need five registers (SMLABB/SMLABT pick
 * the halves). Stride 1: the outputs' windows share two columns, four LDRDs per pair; stride 2:
 * one, five LDRDs. x: word-aligned window of output 0; acc advances by 2 per step to `end`. */
#define EN_C3_COL0(A, FIRST)                                                                  \
    FIRST " " A ", %[d0], %[w0]" "\n\t" "smlabb " A ", %[d1], %[wp], " A "\n\t"
#define EN_C3_COL1(A) "smlad " A ", %[d0], %[w1], " A "\n\t" "smlabt " A ", %[d1], %[wp], " A "\n\t"
#define EN_C3_COL2(A) "smlad " A ", %[d0], %[w2], " A "\n\t" "smlabb " A ", %[d1], %[wq], " A "\n\t"
#define EN_C3_LD(OFF) "ldrd %[d0], %[d1], [%[x], #" OFF "]\n\t"

static void acc3x3_pairs(const int16_t *x, const int32_t *wr, int32_t stride, int32_t *acc,
                         int32_t *end) {
    const int32_t w0 = wr[0], w1 = wr[2], w2 = wr[4];
    const int32_t wp = (int32_t)(((uint32_t)wr[1] & 0xFFFFu) | ((uint32_t)wr[3] << 16));
    const int32_t wq = wr[5];
    int32_t a0, a1, d0, d1;
    if (stride == 1) {
        __asm volatile(
            "1:\n\t"
            EN_C3_LD("0") EN_C3_COL0("%[a0]", "smuad")
            EN_C3_LD("8") EN_C3_COL1("%[a0]") EN_C3_COL0("%[a1]", "smuad")
            EN_C3_LD("16") EN_C3_COL2("%[a0]") EN_C3_COL1("%[a1]")
            EN_C3_LD("24") EN_C3_COL2("%[a1]")
            "adds %[x], %[x], #16\n\t"
            "strd %[a0], %[a1], [%[acc]], #8\n\t"
            "cmp %[acc], %[end]\n\t"
            "bne 1b\n\t"
            : [x] "+r"(x), [acc] "+r"(acc), [a0] "=&r"(a0), [a1] "=&r"(a1), [d0] "=&r"(d0),
              [d1] "=&r"(d1)
            : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [wp] "r"(wp), [wq] "r"(wq),
              [end] "r"(end)
            : "cc", "memory");
    } else {
        __asm volatile(
            "1:\n\t"
            EN_C3_LD("0") EN_C3_COL0("%[a0]", "smuad")
            EN_C3_LD("8") EN_C3_COL1("%[a0]")
            EN_C3_LD("16") EN_C3_COL2("%[a0]") EN_C3_COL0("%[a1]", "smuad")
            EN_C3_LD("24") EN_C3_COL1("%[a1]")
            EN_C3_LD("32") EN_C3_COL2("%[a1]")
            "adds %[x], %[x], #32\n\t"
            "strd %[a0], %[a1], [%[acc]], #8\n\t"
            "cmp %[acc], %[end]\n\t"
            "bne 1b\n\t"
            : [x] "+r"(x), [acc] "+r"(acc), [a0] "=&r"(a0), [a1] "=&r"(a1), [d0] "=&r"(d0),
              [d1] "=&r"(d1)
            : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [wp] "r"(wp), [wq] "r"(wq),
              [end] "r"(end)
            : "cc", "memory");
    }
}
#undef EN_C3_COL0
#undef EN_C3_COL1
#undef EN_C3_COL2
#undef EN_C3_LD

#else
#define EN_DW_ASM 0
#endif

/* Pass 1 of one channel, word-aligned windows of any size (khp even): two outputs per step,
 * so each filter word is loaded once for both windows (3 loads per 2 SMLADs instead of 4), four
 * words per inner step (n is padded to a multiple of four with zero words). An odd count
 * computes one window more (see row_ring_halves) into acc[count]. */
static void acc_aligned(const int16_t *x, int32_t xstep, const int32_t *wr, int32_t n,
                        int32_t *acc, int32_t count) {
    for (int32_t *end = acc + count; acc < end; acc += 2, x += 2 * xstep) {
        const en_w32a *p0 = (const en_w32a *)(const void *)x;
        const en_w32a *p1 = (const en_w32a *)(const void *)(x + xstep);
        const int32_t *wk = wr;
        int32_t a0 = 0, a1 = 0, i = n;
#if EN_DW_ASM
        /* per four words: three LDRDs (filter, window 0, window 1) and four SMLADs, twice */
        int32_t w0, w1, d0, d1, e0, e1;
        i /= 4;
        __asm volatile(
            "1:\n\t"
            "ldrd %[w0], %[w1], [%[wk]], #8\n\t"
            "ldrd %[d0], %[d1], [%[p0]], #8\n\t"
            "ldrd %[e0], %[e1], [%[p1]], #8\n\t"
            "smlad %[a0], %[d0], %[w0], %[a0]\n\t"
            "smlad %[a1], %[e0], %[w0], %[a1]\n\t"
            "smlad %[a0], %[d1], %[w1], %[a0]\n\t"
            "smlad %[a1], %[e1], %[w1], %[a1]\n\t"
            "ldrd %[w0], %[w1], [%[wk]], #8\n\t"
            "ldrd %[d0], %[d1], [%[p0]], #8\n\t"
            "ldrd %[e0], %[e1], [%[p1]], #8\n\t"
            "smlad %[a0], %[d0], %[w0], %[a0]\n\t"
            "smlad %[a1], %[e0], %[w0], %[a1]\n\t"
            "smlad %[a0], %[d1], %[w1], %[a0]\n\t"
            "smlad %[a1], %[e1], %[w1], %[a1]\n\t"
            "subs %[i], %[i], #1\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [wk] "+r"(wk), [p0] "+r"(p0), [p1] "+r"(p1),
              [i] "+r"(i), [w0] "=&r"(w0), [w1] "=&r"(w1), [d0] "=&r"(d0), [d1] "=&r"(d1),
              [e0] "=&r"(e0), [e1] "=&r"(e1)
            :
            : "cc", "memory");
#else
        for (; i > 0; i -= 4, p0 += 4, p1 += 4, wk += 4) { /* n % 4 == 0 */
            for (int32_t j = 0; j < 4; ++j) {
                a0 = __smlad(p0[j], wk[j], a0);
                a1 = __smlad(p1[j], wk[j], a1);
            }
        }
#endif
        acc[0] = a0;
        acc[1] = a1;
    }
}

/* Pass 1 of the group: channel k's `count` windows (its ring at x + k * rc) into
 * acc[k * ROW_ACC + i]. The kernel is chosen once per call, outside the channel loop. */
static void row_acc(const row_plan *v, int32_t g, const int32_t *wr, const int16_t *x,
                    int32_t rc, int32_t *acc, int32_t count) {
    const int32_t xstep = v->sw * v->khp, n = v->n;
    if (ROW_3X3(v)) {
        for (int32_t k = 0; k < g; ++k, wr += n, x += rc, acc += ROW_ACC) {
#if EN_DW_ASM
            /* an odd count computes one window more (inside the ring, see row_ring_halves)
             * into acc[count] (inside the channel's ROW_ACC), which nothing reads */
            acc3x3_pairs(x, wr, v->sw, acc, acc + ((count + 1) & ~1));
#else
            if (v->sw == 1) {
                acc_cols(x, wr, 3, 2, 1, acc, count);
            } else {
                acc_cols(x, wr, 3, 2, 2, acc, count);
            }
#endif
        }
        return;
    }
    for (int32_t k = 0; k < g; ++k, wr += n, x += rc, acc += ROW_ACC) {
        if (v->khp > 1) {
            acc_aligned(x, xstep, wr, n, acc, count);
        } else if (n == 2) {
            acc_row(x, xstep, wr, 2, acc, count); /* 1x3, 3x1 (and 4) */
        } else if (n == 3) {
            acc_row(x, xstep, wr, 3, acc, count); /* 1x5, 5x1 */
        } else if (n == 5) {
            acc_row(x, xstep, wr, 5, acc, count); /* 1x9, 1x10 */
        } else {
            acc_any(x, xstep, wr, n, acc, count);
        }
    }
}

/* Pass 2 of one channel over `rows` rows of `cols` accumulators (row r at acc + r * cols):
 * y[r * yrow + i * ycol] = requant(bias + acc) in en_rq_fold's form: s = (acc << 1) + 2 * bias
 * is one ADD with a shifted operand, then SMMLAR (the output zero point and rounding folded into
 * k), ADD of s's sign (the sign of bias + acc), ASR, and SSAT doing the int8 clamp; `clamp` 1
 * adds act_min (relu with a zero point above -128), 2 both bounds. Two outputs per step. */
EN_AI void rq_fast(const row_chan *k, const int32_t *acc, int32_t rows, int32_t cols, int8_t *y,
                   size_t yrow, size_t ycol, int clamp) {
    const int32_t m = k->rq.mult, r = k->r, kk = k->k, b2 = k->bias2;
    const int32_t lo = k->rq.act_min, hi = k->rq.act_max;
    for (; rows > 0; --rows, y += yrow) {
        int8_t *yc = y;
        const int32_t *end = acc + cols;
        for (; acc + 1 < end; acc += 2, yc += 2 * ycol) {
#pragma GCC unroll 2
            for (int32_t j = 0; j < 2; ++j) {
                const int32_t s = (int32_t)(((uint32_t)acc[j] << 1) + (uint32_t)b2);
                int32_t v = en_ssat8(en_rq_fold_doubled(s, m, kk, r));
                if (clamp) {
                    v = v < lo ? lo : v;
                }
                if (clamp == 2) {
                    v = v > hi ? hi : v;
                }
                yc[j * ycol] = (int8_t)v;
            }
        }
        if (acc < end) {
            const int32_t s = (int32_t)(((uint32_t)*acc++ << 1) + (uint32_t)b2);
            int32_t v = en_ssat8(en_rq_fold_doubled(s, m, kk, r));
            if (clamp) {
                v = v < lo ? lo : v;
            }
            if (clamp == 2) {
                v = v > hi ? hi : v;
            }
            *yc = (int8_t)v;
        }
    }
}

/* Pass 2 of one channel, any requantisation. */
static void row_rq(const row_chan *k, const en_requant *q, const int32_t *acc, int32_t rows,
                   int32_t cols, int8_t *y, size_t yrow, size_t ycol) {
    if (!k->fast) {
        for (; rows > 0; --rows, y += yrow) {
            int8_t *yc = y;
            for (int32_t i = 0; i < cols; ++i, yc += ycol) {
                const int32_t a = *acc++ + k->bias;
                *yc = k->fits ? en_rq_apply(&k->rq, a)
                              : en_requant_fast(a, k->mult, k->shift, q->output_zp, q->act_min,
                                                q->act_max);
            }
        }
    } else if (k->clamp == 0) {
        rq_fast(k, acc, rows, cols, y, yrow, ycol, 0);
    } else if (k->clamp == 1) {
        rq_fast(k, acc, rows, cols, y, yrow, ycol, 1);
    } else {
        rq_fast(k, acc, rows, cols, y, yrow, ycol, 2);
    }
}

static void dw_rows(const row_plan *v, const en_requant *q, const en_dims *in_dims,
                    const int8_t *in, const int8_t *w, const int32_t *bias,
                    const en_dims *out_dims, int8_t *out) {
    int16_t ring[ROW_RING_HALVES] __attribute__((aligned(8)));
    int32_t wrot[ROW_WROT_WORDS];
    int32_t acc[4 * ROW_ACC]; /* channel k's accumulators at acc + k * ROW_ACC */
    row_chan chan[4];
    const int32_t C = in_dims->c;
    const size_t in_batch = (size_t)in_dims->h * in_dims->w * C;
    const size_t out_batch = (size_t)out_dims->h * out_dims->w * C;
    const int32_t offset = -q->input_zp;
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    const int32_t taps = v->kh * v->kw;
    /* A band of whole output rows shares one acc pass when a row fits it (rows of a full-width
     * non-transposed tile are also contiguous in the output, so pass 2 runs over them at once);
     * wider rows go in chunks. */
    const int32_t band_rows = v->tile < ROW_BAND ? ROW_BAND / v->tile : 1;
    const int32_t xstep = v->sw * v->khp;
    for (int32_t c0 = 0, g; c0 < C; c0 += g) {
        g = C - c0 >= 4 && v->g_max >= 4 ? 4 : (C - c0 >= 2 && v->g_max >= 2 ? 2 : 1);
        const int32_t rc = ROW_RING_HALVES / g;
        for (int32_t k = 0; k < g; ++k) {
            row_chan_make(&chan[k], q, bias, c0 + k, taps);
        }
        row_layout(v, w, C, c0, g, wrot);
        for (int32_t b = 0; b < in_dims->n; ++b) {
            const int8_t *ib = in + (size_t)b * in_batch + c0;
            int8_t *ob = out + (size_t)b * out_batch + c0;
            for (int32_t t0 = 0; t0 < v->out_cols; t0 += v->tile) {
                const int32_t tw = v->out_cols - t0 < v->tile ? v->out_cols - t0 : v->tile;
                const int32_t span = (tw - 1) * v->sw + v->kw;
                /* ring columns [jlo, jhi) hold image columns j0 + j - pl; the rest stay zero */
                const int32_t j0 = t0 * v->sw;
                const int32_t jlo = v->pl - j0 > 0 ? v->pl - j0 : 0;
                const int32_t jhi = v->pl + v->cols - j0 < span ? v->pl + v->cols - j0 : span;
                const int8_t *icol = ib + (size_t)(j0 + jlo - v->pl) * v->in_col;
                const int contiguous = v->out_row == (size_t)tw * v->out_col;
                row_clear(ring, rc, g, row_ring_halves(v, tw));
                int32_t next = 0;   /* first input row not yet in the ring (rows < 0 are zeros) */
                int32_t band0 = 0;  /* first output row whose accumulators are held */
                for (int32_t oh = 0; oh < v->out_rows; ++oh) {
                    const int32_t ih0 = oh * v->sh - v->pt;
                    for (int32_t r = next > ih0 ? next : ih0; r < ih0 + v->kh; ++r) {
                        if (jhi <= jlo || r < 0) {
                            continue;
                        }
                        int16_t *d = ring + jlo * v->khp + (r + v->pt) % v->kh;
                        if (r < v->rows) {
                            row_expand(d, rc, v->khp, g, icol + (size_t)r * v->in_row, v->in_col,
                                       jhi - jlo, off2);
                        } else {
                            row_zero(d, rc, v->khp, g, jhi - jlo);
                        }
                    }
                    if (ih0 + v->kh > next) {
                        next = ih0 + v->kh;
                    }
                    const int32_t *wr = wrot + (size_t)((oh * v->sh) % v->kh) * g * v->n;
                    int8_t *yrow = ob + (size_t)oh * v->out_row + (size_t)t0 * v->out_col;
                    if (tw > ROW_BAND) { /* a wide row: chunks, each requantised at once */
                        for (int32_t c1 = 0; c1 < tw; c1 += ROW_BAND) {
                            const int32_t nc = tw - c1 < ROW_BAND ? tw - c1 : ROW_BAND;
                            row_acc(v, g, wr, ring + c1 * xstep, rc, acc, nc);
                            for (int32_t k = 0; k < g; ++k) {
                                row_rq(&chan[k], q, acc + k * ROW_ACC, 1, nc,
                                       yrow + (size_t)c1 * v->out_col + k, 0, v->out_col);
                            }
                        }
                        continue;
                    }
                    row_acc(v, g, wr, ring, rc, acc + (oh - band0) * tw, tw);
                    if (oh - band0 + 1 < band_rows && oh + 1 < v->out_rows) {
                        continue; /* keep accumulating whole rows */
                    }
                    for (int32_t k = 0; k < g; ++k) { /* pass 2 over rows band0..oh */
                        int8_t *y = ob + (size_t)band0 * v->out_row + (size_t)t0 * v->out_col + k;
                        if (contiguous) { /* one run of (oh - band0 + 1) * tw outputs */
                            row_rq(&chan[k], q, acc + k * ROW_ACC, 1, (oh - band0 + 1) * tw, y,
                                   0, v->out_col);
                        } else {
                            row_rq(&chan[k], q, acc + k * ROW_ACC, oh - band0 + 1, tw, y,
                                   v->out_row, v->out_col);
                        }
                    }
                    band0 = oh + 1;
                }
            }
        }
    }
}
/* ---------------------------------------------------------------------------------------------
 * The direct strategy: undilated windows of 16 to 64 taps (5x5 to 8x8) strided on both axes
 * (stride_h, stride_w >= 2).
 *
 * At stride 2 an input pixel feeds only KH * KW / 4 outputs, so the row engine's expansion of
 * every input row into its int16 ring (about three instructions per pixel and channel) and its
 * per-row setup (ring rotations, filter layouts per rotation) cost more than they save. Here
 * each output of a group of four channels is computed straight from the int8 input: per tap one
 * LDR of the four channels' bytes, two SXTAB16 ({c, c+2} and {c+1, c+3}, offset added), the
 * tap's two filter pairs (laid out once per group) and one SMLABB/SMLATT per channel: about two
 * instructions per MAC, with no per-row setup. Windows that overlap the padding clip their tap
 * ranges (a padding tap contributes w * 0 in ref). Channels past the last group of four run
 * one at a time with plain multiply-adds.
 *
 * Sums go to the row engine's accumulator buffer, a band of whole output rows at a time, and
 * its pass 2 (row_rq) requantises them. Rows wider than the band (out of place only) go in
 * chunks of ROW_BAND outputs.
 *
 * In place: a band is written when m output rows are done (m a multiple of the band's rows, or
 * OH). Its outputs land on pixels [0, m * OW) of the image (group channels only), and the rows
 * still to compute read input rows from m * stride_h - pad_top on, so the band is safe when
 * m * OW <= (m * stride_h - pad_top) * W; direct_plan checks every band before taking the call
 * (batches: output batch b starts at b * OH * OW <= b * H * W, so batch 0's check covers all).
 *
 * Exactness: every product and partial sum is an exact integer (|x - zp| <= 255, |w| <= 128,
 * at most 64 taps plus bias, as ref), so only the summation order differs from ref.
 * ------------------------------------------------------------------------------------------- */

/* Windows of 5x5 and up: on 3x3 (9 taps) the row engine's paired SMLADs over its expanded
 * ring still win at stride 2 (measured: 6.4 vs 6.6 instructions per MAC on 16x16 maps). */
enum { DIRECT_MIN_TAPS = 16, DIRECT_MAX_TAPS = 64 };

/* Output maps smaller than DIRECT_SMALL_MAP on both axes take the direct strategy at any stride,
 * from en_dwconv2d_s8 too: the row engine's set-up per row and channel (ring rotation, filter
 * layouts) is paid for a handful of pixels there, 23-27 instructions per MAC on the 2x2 to 5x5
 * maps that end an MCU net (measured on a searched subnet), where direct has none. Windows of up
 * to 9 taps only below DIRECT_SMALL_3X3 outputs: on 6x6 and 7x7 maps the row engine's paired
 * SMLADs won by 6-10 % at 3x3 (whole MBConv blocks of the M7 latency table). Kx1 windows (one
 * tap per window row: a call per tap in direct) and long narrow maps (a 256x1 time series) stay
 * with the row engine, which runs them as long rows (a 10x1 window at stride 2 on a 7x5 map:
 * 6.6 instructions per MAC there, 12.3 in direct). */
enum { DIRECT_SMALL_MAP = 8, DIRECT_SMALL_3X3 = 20 };

/* Whether en_dwconv2d_s8 sends the call to the direct strategy (direct_fits aside). */
static int direct_small(const en_dims *w_dims, const en_dims *out_dims) {
    return out_dims->h < DIRECT_SMALL_MAP && out_dims->w < DIRECT_SMALL_MAP && w_dims->w >= 3 &&
           (w_dims->h * w_dims->w > 9 || out_dims->h * out_dims->w <= DIRECT_SMALL_3X3);
}

/* Output rows [0, m) may be written over the input before rows m.. are computed. */
static int direct_safe(const en_conv_params *p, const en_dims *in_dims, const en_dims *out_dims,
                       int32_t m) {
    const int32_t r = m * p->stride_h - p->pad_top; /* first input row still to be read */
    return m >= out_dims->h || (int64_t)m * out_dims->w <= (int64_t)(r > 0 ? r : 0) * in_dims->w;
}

/* Whether the direct strategy can run the call at all: undilated, up to DIRECT_MAX_TAPS taps,
 * padding less than the window, and in place only when every band is safe. */
static int direct_fits(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                       const en_dims *out_dims, int in_place) {
    if (p->dilation_h != 1 || p->dilation_w != 1 || (int64_t)w_dims->h * w_dims->w > DIRECT_MAX_TAPS ||
        p->pad_top >= w_dims->h || p->pad_left >= w_dims->w) {
        return 0;
    }
    if (!in_place) {
        return 1;
    }
    if (out_dims->w > ROW_BAND || out_dims->h > in_dims->h || out_dims->w > in_dims->w) {
        return 0;
    }
    const int32_t band_rows = ROW_BAND / out_dims->w;
    for (int32_t m = band_rows; m < out_dims->h; m += band_rows) {
        if (!direct_safe(p, in_dims, out_dims, m)) {
            return 0;
        }
    }
    return 1;
}

/* Whether the strided entry point takes the call with the direct strategy. */
static int direct_plan(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                       const en_dims *out_dims, int in_place) {
    return p->stride_h >= 2 && p->stride_w >= 2 && (int64_t)w_dims->h * w_dims->w >= DIRECT_MIN_TAPS &&
           direct_fits(p, in_dims, w_dims, out_dims, in_place);
}

/* a[0..3] (channels c..c+3) += the n taps at x, x + step, ... (four channel bytes each) times
 * the filter pairs wt[2j] = {w c, w c+2}, wt[2j + 1] = {w c+1, w c+3}. */
EN_AI void direct_taps4(const int8_t *x, size_t step, const int32_t *wt, int32_t n,
                        int32_t off2, int32_t a[4]) {
#pragma GCC unroll 8
    for (int32_t j = 0; j < n; ++j, x += step, wt += 2) {
        const uint32_t v = en_read_u32(x);
        const int32_t e = __sxtab16(off2, (int8x4_t)v), o = en_sxtab16_ror8(off2, v);
        a[0] = __smlabb(e, wt[0], a[0]);
        a[2] = __smlatt(e, wt[0], a[2]);
        a[1] = __smlabb(o, wt[1], a[1]);
        a[3] = __smlatt(o, wt[1], a[3]);
    }
}

typedef struct {
    const int8_t *in;          /* batch's input at the group's first channel */
    size_t in_row, in_col;     /* byte strides of an input row / pixel */
    int32_t H, W, KH, KW, sh, sw, pt, pl;
    int32_t off2;              /* -input_zp in both halfwords */
} direct_ctx;

/* Pass 1 of a group of four channels over outputs [ow0, ow0 + count) of row oh: channel k's sums
 * at acc[k * ROW_ACC + i]. KWC is KW as a constant (3, 5, 7) for the unrolled full-row case, or
 * 0 for any KW. */
EN_AI void direct_row4(const direct_ctx *d, const int32_t *wx, int32_t oh, int32_t ow0,
                       int32_t count, int32_t *acc, int32_t KWC) {
    const int32_t KW = KWC > 0 ? KWC : d->KW;
    const int32_t ih0 = oh * d->sh - d->pt;
    const int32_t kh0 = ih0 < 0 ? -ih0 : 0;
    const int32_t kh1 = d->H - ih0 < d->KH ? d->H - ih0 : d->KH;
    const int8_t *xr = d->in + (size_t)(ih0 + kh0) * d->in_row;
    const int32_t *wr = wx + 2 * kh0 * KW;
    for (int32_t i = 0; i < count; ++i, ++acc) {
        const int32_t iw0 = (ow0 + i) * d->sw - d->pl;
        const int32_t kw0 = iw0 < 0 ? -iw0 : 0;
        const int32_t kw1 = d->W - iw0 < KW ? d->W - iw0 : KW;
        const int8_t *x = xr + (ptrdiff_t)(iw0 + kw0) * (ptrdiff_t)d->in_col;
        const int32_t *wt = wr + 2 * kw0;
        int32_t a[4] = {0, 0, 0, 0};
        if (kw0 == 0 && kw1 == KW) {
            for (int32_t r = kh0; r < kh1; ++r, x += d->in_row, wt += 2 * KW) {
                direct_taps4(x, d->in_col, wt, KW, d->off2, a);
            }
        } else {
            for (int32_t r = kh0; r < kh1; ++r, x += d->in_row, wt += 2 * KW) {
                for (int32_t j = kw0; j < kw1; ++j) {
                    direct_taps4(x + (size_t)(j - kw0) * d->in_col, 0, wt + 2 * (j - kw0), 1,
                                 d->off2, a);
                }
            }
        }
        acc[0] = a[0];
        acc[ROW_ACC] = a[1];
        acc[2 * ROW_ACC] = a[2];
        acc[3 * ROW_ACC] = a[3];
    }
}

static void direct_row4_any(const direct_ctx *d, const int32_t *wx, int32_t oh, int32_t ow0,
                            int32_t count, int32_t *acc) {
    if (d->KW == 3) {
        direct_row4(d, wx, oh, ow0, count, acc, 3);
    } else if (d->KW == 5) {
        direct_row4(d, wx, oh, ow0, count, acc, 5);
    } else if (d->KW == 7) {
        direct_row4(d, wx, oh, ow0, count, acc, 7);
    } else {
        direct_row4(d, wx, oh, ow0, count, acc, 0);
    }
}

/* Pass 1 of one channel (wx[t] its tap t): as direct_row4, sums at acc[i]. */
static void direct_row1(const direct_ctx *d, const int32_t *wx, int32_t oh, int32_t ow0,
                        int32_t count, int32_t *acc) {
    const int32_t offset = (int16_t)d->off2;
    const int32_t ih0 = oh * d->sh - d->pt;
    const int32_t kh0 = ih0 < 0 ? -ih0 : 0;
    const int32_t kh1 = d->H - ih0 < d->KH ? d->H - ih0 : d->KH;
    for (int32_t i = 0; i < count; ++i) {
        const int32_t iw0 = (ow0 + i) * d->sw - d->pl;
        const int32_t kw0 = iw0 < 0 ? -iw0 : 0;
        const int32_t kw1 = d->W - iw0 < d->KW ? d->W - iw0 : d->KW;
        int32_t a = 0;
        for (int32_t r = kh0; r < kh1; ++r) {
            const int8_t *x = d->in + (size_t)(ih0 + r) * d->in_row;
            for (int32_t j = kw0; j < kw1; ++j) {
                a += wx[r * d->KW + j] * ((int32_t)x[(ptrdiff_t)(iw0 + j) * (ptrdiff_t)d->in_col] +
                                         offset);
            }
        }
        acc[i] = a;
    }
}

static void dw_direct(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                      const int8_t *in, const en_dims *w_dims, const int8_t *w,
                      const int32_t *bias, const en_dims *out_dims, int8_t *out) {
    int32_t wx[2 * DIRECT_MAX_TAPS];
    int32_t acc[4 * ROW_ACC];
    row_chan chan[4];
    const int32_t C = in_dims->c, OH = out_dims->h, OW = out_dims->w;
    const int32_t taps = w_dims->h * w_dims->w;
    const size_t in_batch = (size_t)in_dims->h * in_dims->w * C;
    const size_t out_batch = (size_t)OH * OW * C, out_row = (size_t)OW * C;
    const int32_t offset = -q->input_zp;
    direct_ctx d = {NULL, (size_t)in_dims->w * C, (size_t)C, in_dims->h, in_dims->w, w_dims->h,
                    w_dims->w, p->stride_h, p->stride_w, p->pad_top, p->pad_left,
                    (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u)};
    /* out of place, rows up to ROW_BAND wide go in bands of whole rows; wider ones in chunks */
    const int32_t band_rows = OW <= ROW_BAND ? ROW_BAND / OW : 1;
    const int32_t chunk = OW <= ROW_BAND ? OW : ROW_BAND;
    for (int32_t c0 = 0, g; c0 < C; c0 += g) {
        g = C - c0 >= 4 ? 4 : 1;
        for (int32_t k = 0; k < g; ++k) {
            row_chan_make(&chan[k], q, bias, c0 + k, taps);
        }
        for (int32_t t = 0; t < taps; ++t) {
            const int8_t *wt = w + (size_t)t * C + c0;
            if (g == 4) { /* {w c, w c+2}, {w c+1, w c+3} */
                const uint32_t v = en_read_u32(wt);
                wx[2 * t] = __sxtb16((int8x4_t)v);
                wx[2 * t + 1] = en_sxtab16_ror8(0, v);
            } else {
                wx[t] = wt[0];
            }
        }
        for (int32_t b = 0; b < in_dims->n; ++b) {
            d.in = in + (size_t)b * in_batch + c0;
            int8_t *ob = out + (size_t)b * out_batch + c0;
            int32_t band0 = 0;
            for (int32_t oh = 0; oh < OH; ++oh) {
                for (int32_t ow0 = 0; ow0 < OW; ow0 += chunk) {
                    const int32_t n = OW - ow0 < chunk ? OW - ow0 : chunk;
                    int32_t *a = chunk < OW ? acc : acc + (oh - band0) * OW;
                    if (g == 4) {
                        direct_row4_any(&d, wx, oh, ow0, n, a);
                    } else {
                        direct_row1(&d, wx, oh, ow0, n, a);
                    }
                    if (n < OW) { /* a chunk of a wide row (out of place): requantise now */
                        for (int32_t k = 0; k < g; ++k) {
                            row_rq(&chan[k], q, acc + k * ROW_ACC, 1, n,
                                   ob + (size_t)oh * out_row + (size_t)ow0 * C + k, 0, C);
                        }
                    }
                }
                if (chunk < OW || (oh + 1 - band0 < band_rows && oh + 1 < OH)) {
                    continue;
                }
                for (int32_t k = 0; k < g; ++k) { /* rows band0..oh: one contiguous run */
                    row_rq(&chan[k], q, acc + k * ROW_ACC, 1, (oh + 1 - band0) * OW,
                           ob + (size_t)band0 * out_row + k, 0, C);
                }
                band0 = oh + 1;
            }
        }
    }
}

/* In place: per channel, save its plane to scratch, then compute it over `io` (see
 * common/dw_plane.c for why that is safe for any geometry). */
/* noinline (so is dw_pixel_major): their arrays stay off the frame that calls dw_rows. */
__attribute__((noinline)) static void
dw_in_place_fast(const en_conv_params *p, const en_requant *q, const en_dims *in_dims, int8_t *io,
                 const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                 const en_dims *out_dims, int8_t *scratch) {
    const int32_t C = in_dims->c;
    const size_t plane = (size_t)in_dims->n * in_dims->h * in_dims->w;
    for (int32_t c = 0; c < C; ++c) {
        const int8_t *src = io + c;
        for (size_t i = 0; i < plane; ++i, src += C) {
            scratch[i] = *src;
        }
        dw_plane_fast(p, q, in_dims, scratch, w_dims, w, bias, out_dims, io, c);
    }
}
#endif

__attribute__((noinline)) static void
dw_pixel_major(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
               const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
               const en_dims *out_dims, int8_t *out) {
    const int32_t C = in_dims->c;
    const int32_t offset = -q->input_zp;
    size_t x_off[MAX_TAPS]; /* input byte offset of each in-bounds tap (channel 0) */
    size_t w_off[MAX_TAPS]; /* filter byte offset of the same tap */
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                int32_t taps = 0;
                for (int32_t kh = 0; kh < w_dims->h; ++kh) {
                    const int32_t ih = ih0 + kh * p->dilation_h;
                    if (ih < 0 || ih >= in_dims->h) {
                        continue;
                    }
                    for (int32_t kw = 0; kw < w_dims->w; ++kw) {
                        const int32_t iw = iw0 + kw * p->dilation_w;
                        if (iw < 0 || iw >= in_dims->w) {
                            continue;
                        }
                        x_off[taps] = (((size_t)b * in_dims->h + ih) * in_dims->w + iw) * C;
                        w_off[taps] = ((size_t)kh * w_dims->w + kw) * C;
                        ++taps;
                    }
                }
                int8_t *y = out + (((size_t)b * out_dims->h + oh) * out_dims->w + ow) * C;
                int32_t c = 0;
#if EN_HAVE_DSP
                const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
                for (; c + 3 < C; c += 4) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    int32_t t = 0;
                    for (; t + 1 < taps; t += 2) {
                        mac4_pair(in + x_off[t] + c, in + x_off[t + 1] + c, w + w_off[t] + c,
                                  w + w_off[t + 1] + c, off2, acc);
                    }
                    for (; t < taps; ++t) {
                        for (int k = 0; k < 4; ++k) {
                            acc[k] += (int32_t)w[w_off[t] + c + k] *
                                      ((int32_t)in[x_off[t] + c + k] + offset);
                        }
                    }
                    for (int k = 0; k < 4; ++k) {
                        const int32_t ch = c + k;
                        const int32_t qc = q->per_channel ? ch : 0;
                        const int32_t a = acc[k] + (bias != NULL ? bias[ch] : 0);
                        y[ch] = en_requant_fast(a, q->mult[qc], q->shift[qc], q->output_zp,
                                                q->act_min, q->act_max);
                    }
                }
#endif
                for (; c < C; ++c) {
                    int32_t acc = 0;
                    for (int32_t t = 0; t < taps; ++t) {
                        acc += (int32_t)w[w_off[t] + c] * ((int32_t)in[x_off[t] + c] + offset);
                    }
                    if (bias != NULL) {
                        acc += bias[c];
                    }
                    const int32_t qc = q->per_channel ? c : 0;
                    y[c] = en_requant_s8(acc, q->mult[qc], q->shift[qc], q->output_zp,
                                         q->act_min, q->act_max);
                }
            }
        }
    }
}

en_status en_dwconv2d_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                         const int8_t *in, const en_dims *w_dims, const int8_t *w,
                         const int32_t *bias, const en_dims *out_dims, int8_t *out,
                         void *scratch) {
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) != EN_OK) {
        return EN_ERR_ARG;
    }
#if EN_HAVE_DSP
    if (en_dw_small(p, q, in_dims, in, w_dims, w, bias, out_dims, out)) {
        return EN_OK;
    }
    if (direct_small(w_dims, out_dims) && direct_fits(p, in_dims, w_dims, out_dims, out == in)) {
        dw_direct(p, q, in_dims, in, w_dims, w, bias, out_dims, out);
        return EN_OK;
    }
    row_plan v;
    if (row_plan_make(p, in_dims, w_dims, out_dims, out == in, &v)) {
        dw_rows(&v, q, in_dims, in, w, bias, out_dims, out);
        return EN_OK;
    }
#endif
    /* Dilated kernels, rows too wide for the stack in place, windows over 64 halfwords. */
    if (out == in) {
#if EN_HAVE_DSP
        if (w_dims->h <= PLANE_MAX_K && w_dims->w <= PLANE_MAX_K && p->dilation_w == 1) {
            dw_in_place_fast(p, q, in_dims, out, w_dims, w, bias, out_dims, (int8_t *)scratch);
            return EN_OK;
        }
#endif
        en_dw_in_place(p, q, in_dims, out, w_dims, w, bias, out_dims, (int8_t *)scratch);
    } else if ((int64_t)w_dims->h * w_dims->w <= MAX_TAPS) {
        dw_pixel_major(p, q, in_dims, in, w_dims, w, bias, out_dims, out);
    } else {
        for (int32_t c = 0; c < in_dims->c; ++c) {
            en_dw_channel(p, q, in_dims, in + c, (size_t)in_dims->c, w_dims, w, bias, out_dims,
                          out, c);
        }
    }
    return EN_OK;
}

en_status en_dwconv2d_strided_s8(const en_conv_params *p, const en_requant *q,
                                 const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                                 const int8_t *w, const int32_t *bias, const en_dims *out_dims,
                                 int8_t *out, void *scratch) {
#if EN_HAVE_DSP
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) == EN_OK) {
        if (en_dw_small(p, q, in_dims, in, w_dims, w, bias, out_dims, out)) {
            return EN_OK;
        }
        if (direct_plan(p, in_dims, w_dims, out_dims, out == in)) {
            dw_direct(p, q, in_dims, in, w_dims, w, bias, out_dims, out);
            return EN_OK;
        }
    }
#endif
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
