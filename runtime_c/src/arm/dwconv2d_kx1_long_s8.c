/* ARMv7E-M build of en_dwconv2d_kx1_long_s8 (K x 1 depthwise kernels of 5 to 32 taps, see
 * kernels.h): same contract and results as ref/dwconv2d_s8.c. A separate file and entry point,
 * so that firmware without such layers does not link this code (--gc-sections); calls the
 * strategy does not take go to en_dwconv2d_s8.
 *
 * Which calls: undilated K x 1 kernels with KP_MIN_K <= K <= KP_MAX_K, stride_h 1 or 2 (any
 * stride_w), no left padding, channel counts that are multiples of 4, columns whose padded
 * window rows fit KP_ROWS, and requantisation in the SMMLAR form for every channel
 * (en_rq_fold_ok, en_rq_fits); in place only where output column ow lands on input column ow
 * (stride_w 1, OW = W, OH <= H).
 *
 * Why: the short-kernel loops (arm/dwconv2d_kx1_s8.c) do one MAC an instruction on a pixel's
 * four channels at once (SMLABB / SMLATT), and the row engine spends 15 instructions an output
 * on its fixed costs; at 5 to 32 taps the multiply-adds are most of the work, so here two taps
 * go in one SMLAD.
 *
 * Layout. For a group of four channels, each image column is expanded once into four int16
 * columns on the stack (x - input_zp; rows outside the image are zero, which is the padding:
 * a padded tap adds w * 0 in ref), halfword t holding image row t - pad_top. A pixel word of
 * the four channels gives {c, c+2} and {c+1, c+3} (SXTAB16); PKHBT / PKHTB of two rows give
 * each channel's row pair, one word store each.
 *
 * Windows (A_j: the word at halfwords 2j, 2j+1 of a window's start, w_i = 0 outside [0, K)),
 * four outputs of one channel a step (kp_col):
 *  - stride 1: out0 = sum_j SMLAD(A_j, {w_2j, w_2j+1}) and out1 = sum_j SMLAD(A_j, {w_2j-1,
 *    w_2j}) from the same words, j < K / 2 + 1, and out2, out3 alike from the words one on;
 *  - stride 2: out o + i starts at word o + i, sum_j SMLAD(A_{o+i+j}, {w_2j, w_2j+1}), the four
 *    sharing each weight word and all but one load per word.
 * Weights and bias are stored doubled, so a sum is the 2 * acc that SMMLAR wants
 * (en_rq_fold_doubled); outputs are requantised in pairs (kp_out2) and stored.
 *
 * Cost (M7, kernel_sweep's 16x16 maps, worst over 6 channel counts): 10x1 3.0 / 3.6 instructions
 * per MAC at stride 1 / 2 (the row engine 4.0 / 5.3), 5x1 4.8 / 6.4 (6.8 / 9.2): at 5 taps the
 * pair requantisation (about 7 instructions an output) and, at stride 2, the expansion of two
 * new rows per output weigh as much as the multiply-adds.
 *
 * Exactness: |x - zp| <= 255, |2 w| <= 256 and at most 32 taps, so with the en_rq_fits bound on
 * the bias every product and partial sum is an exact int32 and only the summation order
 * differs from ref.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/requant_fast.h"

#if EN_HAVE_DSP

enum {
    KP_MIN_K = 5,
    KP_MAX_K = 32,
    KP_ROWS = 512,              /* halfwords of one expanded channel column: 4 KB of stack */
    KP_WORDS = KP_MAX_K / 2 + 1 /* weight words of a window (stride 1: K / 2 + 1) */
};

typedef int32_t kp_w32 __attribute__((may_alias, aligned(4)));

typedef struct {
    int32_t w[2 * KP_WORDS]; /* stride 1: {w_2j, w_2j+1}, {w_2j-1, w_2j} per j; stride 2: the first */
    int32_t b2, m, k, r;     /* 2 * bias, multiplier, en_rq_fold's k and right shift */
} kp_chan;

#define KP_AI static inline __attribute__((always_inline))

/* Whether channel c's requantisation takes the SMMLAR form with K taps. */
static int kp_fits(const en_requant *q, const int32_t *bias, int32_t K, int32_t c) {
    const int32_t shift = q->shift[q->per_channel ? c : 0], b = bias != NULL ? bias[c] : 0;
    const int64_t bound = (int64_t)K * 255 * 128 + (b < 0 ? -(int64_t)b : (int64_t)b);
    return en_rq_fold_ok(shift) && en_rq_fits(bound, shift);
}

/* Channel c's constants (n weight words; kp_fits holds). */
static void kp_chan_make(kp_chan *ch, const en_requant *q, const int8_t *w, const int32_t *bias,
                         size_t C, int32_t K, int32_t c, int32_t sh, int32_t n) {
    const int32_t qc = q->per_channel ? c : 0, shift = q->shift[qc];
    const int32_t b = bias != NULL ? bias[c] : 0;
    int32_t taps[KP_MAX_K + 3]; /* taps[i + 1] = 2 w_i, zero around */
    taps[0] = taps[K + 1] = taps[K + 2] = 0;
    for (int32_t i = 0; i < K; ++i) {
        taps[i + 1] = 2 * w[(size_t)i * C + (size_t)c];
    }
    for (int32_t j = 0; j < n; ++j) {
        if (sh == 1) {
            ch->w[2 * j] = en_pack16(taps[2 * j + 1], taps[2 * j + 2]);
            ch->w[2 * j + 1] = en_pack16(taps[2 * j], taps[2 * j + 1]);
        } else {
            ch->w[j] = en_pack16(taps[2 * j + 1], taps[2 * j + 2]);
        }
    }
    ch->b2 = (int32_t)((uint32_t)b << 1);
    ch->m = q->mult[qc];
    ch->k = en_rq_fold_k(2 * q->output_zp + 1, shift);
    ch->r = -shift;
}

/* The outputs of two doubled sums as the int16 lanes {out0, out1}: en_rq_fold_doubled, SSAT
 * to int8, then both lanes clamped to the activation range at once (lohi: {act_min, act_min},
 * {act_max, act_max}), SSUB16 setting the GE flags that SEL reads. */
KP_AI int32_t kp_out2(const kp_chan *ch, int32_t s0, int32_t s1, int32_t lo2, int32_t hi2) {
    const int32_t v0 = en_ssat8(en_rq_fold_doubled(s0, ch->m, ch->k, ch->r));
    const int32_t v1 = en_ssat8(en_rq_fold_doubled(s1, ch->m, ch->k, ch->r));
    return en_min16x2(en_max16x2(en_pkhbt(v0, v1), lo2), hi2);
}

/* Halfwords t, t + 1 (t even) of the four columns from two pixel words of four channels:
 * {c, c+2} and {c+1, c+3} of each (SXTAB16), each channel's pair one PKHBT / PKHTB. */
KP_AI void kp_pair(int16_t *d, int32_t t, uint32_t v0, uint32_t v1, int32_t off2) {
    const int32_t e0 = __sxtab16(off2, (int8x4_t)v0), o0 = en_sxtab16_ror8(off2, v0);
    const int32_t e1 = __sxtab16(off2, (int8x4_t)v1), o1 = en_sxtab16_ror8(off2, v1);
    *(kp_w32 *)(d + t) = en_pkhbt(e0, e1);
    *(kp_w32 *)(d + KP_ROWS + t) = en_pkhbt(o0, o1);
    *(kp_w32 *)(d + 2 * KP_ROWS + t) = en_pkhtb(e0, e1);
    *(kp_w32 *)(d + 3 * KP_ROWS + t) = en_pkhtb(o0, o1);
}

/* Image row r's pixel word of the column at x, or the padding word (input_zp bytes, zero once
 * the offset is added) outside rows [0, rows). */
static inline uint32_t kp_row(const int8_t *x, size_t rs, int32_t r, int32_t rows, uint32_t pad) {
    return r >= 0 && r < rows ? en_read_u32(x + (size_t)r * rs) : pad;
}

typedef struct {
    int32_t pt, rows, off2, lo2, hi2;
    int32_t head, mid, tail, zeros; /* kp_expand's word pairs, see kp_layout */
    int32_t OH, OW;
    uint32_t pad;
    size_t rs, ys, xcol, ycol;
} kp_geo;

/* How kp_expand fills halfwords [0, T) (T even) of a column whose image rows [0, rows) land at
 * halfwords pt..: `head` pairs that start above the image (rows read or padding), `mid` pairs
 * of two image rows, `tail` 1 for a last row beside the padding, then `zeros` zero pairs. */
static void kp_layout(kp_geo *g, int32_t T) {
    int32_t t = 0;
    g->head = g->mid = g->tail = 0;
    for (; t < T && t < g->pt; t += 2) {
        ++g->head;
    }
    for (; t + 2 <= T && t + 1 - g->pt < g->rows; t += 2) {
        ++g->mid;
    }
    if (t < T && t - g->pt < g->rows) {
        g->tail = 1;
        t += 2;
    }
    g->zeros = (T - t) / 2;
}

/* The four int16 columns (d: column 0, step KP_ROWS) of the image column at x, as kp_layout
 * says: halfword t holds row t - pt, or zero outside the image. */
static void kp_expand(int16_t *d, const int8_t *x, const kp_geo *g) {
    const size_t rs = g->rs;
    const int32_t off2 = g->off2;
    const uint32_t pad = g->pad;
    int32_t t = 0;
    for (int32_t i = 0; i < g->head; ++i, t += 2) {
        kp_pair(d, t, kp_row(x, rs, t - g->pt, g->rows, pad), kp_row(x, rs, t + 1 - g->pt, g->rows, pad), off2);
    }
    const int8_t *p = x + (ptrdiff_t)(t - g->pt) * (ptrdiff_t)rs;
    for (int32_t i = 0; i < g->mid; ++i, t += 2, p += 2 * rs) {
        kp_pair(d, t, en_read_u32(p), en_read_u32(p + rs), off2);
    }
    if (g->tail) {
        kp_pair(d, t, en_read_u32(p), pad, off2);
        t += 2;
    }
    for (int32_t i = 0; i < g->zeros; ++i, t += 2) {
        *(kp_w32 *)(d + t) = *(kp_w32 *)(d + KP_ROWS + t) = 0;
        *(kp_w32 *)(d + 2 * KP_ROWS + t) = *(kp_w32 *)(d + 3 * KP_ROWS + t) = 0;
    }
}

/* Every output of one channel column (col: its expanded halfwords; N weight words a window,
 * a compile-time constant where kp_run instantiates it for the common heights, so the window's
 * loads and multiply-adds unroll: 10x1 at 3.0 instructions per MAC against 4.2 as a loop;
 * other heights loop, unrolled by up to 8 words to keep the code small), four outputs a step. Stride 1: outputs o, o + 1 from the words at
 * halfword o (weights {w_2j, w_2j+1}, {w_2j-1, w_2j}), o + 2, o + 3 from those one word on;
 * stride 2: output o + i's window starts i words on, all four share each weight word. The
 * last step computes four outputs and stores those that exist (the expanded column is long
 * enough for the others' reads). */
KP_AI void kp_col(const kp_chan *ch, const int16_t *col, int32_t OH, int8_t *y, size_t ys,
                  int32_t lo2, int32_t hi2, const int32_t N, const int32_t S) {
    const kp_w32 *a = (const kp_w32 *)col;
    const int32_t *w = ch->w, b2 = ch->b2;
    for (int32_t left = OH;; left -= 4, a += 2 * S, y += 4 * ys) {
        int32_t s0 = b2, s1 = b2, s2 = b2, s3 = b2;
#pragma GCC unroll 8
        for (int32_t j = 0; j < N; ++j) {
            if (S == 1) {
                const int32_t A0 = a[j], A1 = a[j + 1], wa = w[2 * j], wb = w[2 * j + 1];
                s0 = __smlad(A0, wa, s0);
                s1 = __smlad(A0, wb, s1);
                s2 = __smlad(A1, wa, s2);
                s3 = __smlad(A1, wb, s3);
            } else {
                const int32_t wj = w[j];
                s0 = __smlad(a[j], wj, s0);
                s1 = __smlad(a[j + 1], wj, s1);
                s2 = __smlad(a[j + 2], wj, s2);
                s3 = __smlad(a[j + 3], wj, s3);
            }
        }
        const int32_t v01 = kp_out2(ch, s0, s1, lo2, hi2), v23 = kp_out2(ch, s2, s3, lo2, hi2);
        y[0] = (int8_t)v01;
        if (left >= 4) {
            y[ys] = (int8_t)(v01 >> 16);
            y[2 * ys] = (int8_t)v23;
            y[3 * ys] = (int8_t)(v23 >> 16);
            if (left == 4) {
                return;
            }
            continue;
        }
        if (left > 1) {
            y[ys] = (int8_t)(v01 >> 16);
        }
        if (left > 2) {
            y[2 * ys] = (int8_t)v23;
        }
        return;
    }
}

/* Every column of one batch for a group of four channels (x, y: the group's first channel). */
KP_AI void kp_run(const kp_geo *g, const kp_chan *ch, const int8_t *x, int8_t *y, int16_t *cols,
                  const int32_t N, const int32_t S) {
    for (int32_t ow = 0; ow < g->OW; ++ow, x += g->xcol, y += g->ycol) {
        kp_expand(cols, x, g);
        for (int32_t j = 0; j < 4; ++j) {
            kp_col(&ch[j], cols + j * KP_ROWS, g->OH, y + j, g->ys, g->lo2, g->hi2, N, S);
        }
    }
}

typedef void (*kp_fn)(const kp_geo *, const kp_chan *, const int8_t *, int8_t *, int16_t *, int32_t);
#define KP_RUN(N, S)                                                                            \
    static void kp_run_##N##_##S(const kp_geo *g, const kp_chan *ch, const int8_t *x, int8_t *y, \
                                 int16_t *cols, int32_t n) {                                    \
        (void)n;                                                                                \
        kp_run(g, ch, x, y, cols, N, S);                                                        \
    }
KP_RUN(3, 1) /* K 5 */
KP_RUN(6, 1) /* K 10, 11 */
KP_RUN(3, 2) /* K 5, 6 */
KP_RUN(5, 2) /* K 9, 10 */
static void kp_run_n_1(const kp_geo *g, const kp_chan *ch, const int8_t *x, int8_t *y, int16_t *cols,
                       int32_t n) {
    kp_run(g, ch, x, y, cols, n, 1);
}
static void kp_run_n_2(const kp_geo *g, const kp_chan *ch, const int8_t *x, int8_t *y, int16_t *cols,
                       int32_t n) {
    kp_run(g, ch, x, y, cols, n, 2);
}

static kp_fn kp_pick(int32_t n, int32_t sh) {
    if (sh == 1) {
        return n == 3 ? kp_run_3_1 : (n == 6 ? kp_run_6_1 : kp_run_n_1);
    }
    return n == 3 ? kp_run_3_2 : (n == 5 ? kp_run_5_2 : kp_run_n_2);
}

/* Runs the call and returns 1 when the strategy takes it; 0, having written nothing, otherwise. */
static int kp_take(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                   const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                   const en_dims *out_dims, int8_t *out) {
    const int32_t K = w_dims->h, sh = p->stride_h, C = in_dims->c, H = in_dims->h, OH = out_dims->h;
    const int32_t OW = out_dims->w, pt = p->pad_top;
    const int32_t n = sh == 1 ? K / 2 + 1 : (K + 1) / 2; /* weight words a window */
    const int32_t T = (sh * (OH - 1) + 2 * n + 8) & ~1;   /* halfwords kp_col reads, even */
    if (w_dims->w != 1 || K < KP_MIN_K || K > KP_MAX_K || (sh != 1 && sh != 2) ||
        p->dilation_h != 1 || p->dilation_w != 1 || p->pad_left != 0 || pt >= K || C % 4 != 0 ||
        T > KP_ROWS || (int64_t)(OW - 1) * p->stride_w >= in_dims->w ||
        (out == in && (p->stride_w != 1 || OW != in_dims->w || OH > H))) {
        return 0;
    }
    for (int32_t c = 0; c < C; ++c) { /* every channel's form, before anything is written */
        if (!kp_fits(q, bias, K, c)) {
            return 0;
        }
    }
    int16_t cols[4 * KP_ROWS] __attribute__((aligned(4)));
    kp_chan ch[4];
    const uint32_t lanes = 0x00010001u;
    kp_geo g;
    g.pt = pt;
    g.rows = T - pt < H ? T - pt : H;
    g.off2 = (int32_t)(((uint32_t)(-q->input_zp) & 0xFFFFu) * lanes);
    g.lo2 = (int32_t)(((uint32_t)q->act_min & 0xFFFFu) * lanes);
    g.hi2 = (int32_t)(((uint32_t)q->act_max & 0xFFFFu) * lanes);
    g.OH = OH;
    g.OW = OW;
    g.pad = ((uint32_t)q->input_zp & 0xFFu) * 0x01010101u;
    g.rs = (size_t)in_dims->w * (size_t)C;
    g.ys = (size_t)OW * (size_t)C;
    g.xcol = (size_t)p->stride_w * (size_t)C;
    g.ycol = (size_t)C;
    kp_layout(&g, T);
    const kp_fn run = kp_pick(n, sh);
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        for (int32_t j = 0; j < 4; ++j) {
            kp_chan_make(&ch[j], q, w, bias, (size_t)C, K, c0 + j, sh, n);
        }
        for (int32_t b = 0; b < in_dims->n; ++b) {
            run(&g, ch, in + (size_t)b * (size_t)H * g.rs + c0, out + (size_t)b * (size_t)OH * g.ys + c0, cols, n);
        }
    }
    return 1;
}

#endif

en_status en_dwconv2d_kx1_long_s8(const en_conv_params *p, const en_requant *q,
                                  const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                                  const int8_t *w, const int32_t *bias, const en_dims *out_dims,
                                  int8_t *out, void *scratch) {
#if EN_HAVE_DSP
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) == EN_OK &&
        kp_take(p, q, in_dims, in, w_dims, w, bias, out_dims, out)) {
        return EN_OK;
    }
#endif
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
