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
 * (en_rq_fold_doubled); outputs are requantised in pairs (kp_out2) and stored. Windows of three
 * weight words (5 and 6 taps) run their whole steps in assembly, the group's four channels in
 * one call (kp_quads_3_1 / 3_2: 57 and 59 instructions a step where GCC's C took about 84; 53
 * and 55 without the sign's ADD when act_min >= output_zp, kp_quads_*_relu), the last 1-3
 * outputs of a column too (one more step into a buffer, whose rows are copied out: 5x1 on a
 * 13x5x64 map 5.31 instructions per MAC, 5.54 with that step in C); the
 * pairs above and below the image that are zero in every column are written once a call
 * (kp_zero), not once a column.
 *
 * Cost (M7, kernel_sweep's 16x16 maps, worst over 6 channel counts): 10x1 2.8 / 3.3 instructions
 * per MAC at stride 1 / 2 (the row engine 4.0 / 5.3), 5x1 3.9 / 5.0 (6.8 / 9.2; 4.8 / 6.4 with the
 * steps in C): at 5 taps the pair requantisation (about 4 instructions an output) and, at
 * stride 2, the expansion of two new rows per output weigh as much as the multiply-adds.
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

/* The constants of the group's four channels c0..c0 + 3 (n weight words each; kp_fits holds).
 * A tap's four weights are one word (the channels side by side): SXTB16 and its rotation by 8
 * split it into doubled int16 lanes (SXTAB16 of the lanes onto themselves), channels {0, 2} in
 * ev, {1, 3} in od, so a channel's pair word of two taps is one PKHBT (channels 0, 1) or PKHTB
 * (2, 3): a few instructions a word for the four channels, where a channel at a time took
 * about 180 a channel at 5 taps (0.5 instructions per MAC on a 13-row map). */
static void kp_group_make(kp_chan ch[4], const en_requant *q, const int8_t *w, const int32_t *bias,
                          size_t C, int32_t K, int32_t c0, int32_t sh, int32_t n) {
    int32_t ev[KP_MAX_K + 3], od[KP_MAX_K + 3]; /* [i + 1]: tap i; zero around */
    ev[0] = od[0] = ev[K + 1] = od[K + 1] = ev[K + 2] = od[K + 2] = 0;
    for (int32_t i = 0; i < K; ++i) {
        const uint32_t v = en_read_u32(w + (size_t)i * C + (size_t)c0);
        ev[i + 1] = __sxtab16(__sxtb16((int8x4_t)v), (int8x4_t)v);
        od[i + 1] = en_sxtab16_ror8(en_sxtab16_ror8(0, v), v);
    }
    for (int32_t j = 0; j < n; ++j) { /* word j of a window (stride 1: words 2j and 2j + 1) */
        const int32_t a = 2 * j + 1, b = 2 * j + 2, wj = sh == 1 ? 2 * j : j;
        ch[0].w[wj] = en_pkhbt(ev[a], ev[b]);
        ch[1].w[wj] = en_pkhbt(od[a], od[b]);
        ch[2].w[wj] = en_pkhtb(ev[a], ev[b]);
        ch[3].w[wj] = en_pkhtb(od[a], od[b]);
        if (sh == 1) { /* {w_2j-1, w_2j} */
            ch[0].w[wj + 1] = en_pkhbt(ev[a - 1], ev[a]);
            ch[1].w[wj + 1] = en_pkhbt(od[a - 1], od[a]);
            ch[2].w[wj + 1] = en_pkhtb(ev[a - 1], ev[a]);
            ch[3].w[wj + 1] = en_pkhtb(od[a - 1], od[a]);
        }
    }
    for (int32_t j = 0; j < 4; ++j) {
        const int32_t c = c0 + j, qc = q->per_channel ? c : 0, shift = q->shift[qc];
        ch[j].b2 = (int32_t)((uint32_t)(bias != NULL ? bias[c] : 0) << 1);
        ch[j].m = q->mult[qc];
        ch[j].k = en_rq_fold_k(2 * q->output_zp + 1, shift);
        ch[j].r = -shift;
    }
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
    int32_t head0, head, mid, tail, zeros; /* kp_expand's word pairs, see kp_layout */
    int relu;                              /* act_min >= output_zp: the quads without the ADD */
    int32_t OH, OW;
    uint32_t pad;
    size_t rs, ys, xcol, ycol;
} kp_geo;

/* How halfwords [0, T) (T even) of a column whose image rows [0, rows) land at halfwords pt..
 * are filled: `head0` pairs of two rows above the image and, at the end, `zeros` pairs below
 * it are zero in every column (kp_zero writes them once a call); kp_expand fills the rest:
 * `head` pairs that start above the image (rows read or padding), `mid` pairs of two image
 * rows, `tail` 1 for a last row beside the padding. */
static void kp_layout(kp_geo *g, int32_t T) {
    int32_t t = 0;
    g->head0 = g->head = g->mid = g->tail = 0;
    for (; t < T && t + 1 < g->pt; t += 2) {
        ++g->head0;
    }
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

/* The pairs of the four int16 columns (d: column 0, step KP_ROWS) that are zero in every
 * column (kp_layout's head0 and zeros), written once a call. */
static void kp_zero(int16_t *d, const kp_geo *g, int32_t T) {
    for (int32_t part = 0; part < 2; ++part) {
        const int32_t from = part == 0 ? 0 : T - 2 * g->zeros, to = part == 0 ? 2 * g->head0 : T;
        for (int32_t t = from; t < to; t += 2) {
            *(kp_w32 *)(d + t) = *(kp_w32 *)(d + KP_ROWS + t) = 0;
            *(kp_w32 *)(d + 2 * KP_ROWS + t) = *(kp_w32 *)(d + 3 * KP_ROWS + t) = 0;
        }
    }
}

/* The four int16 columns (d: column 0, step KP_ROWS) of the image column at x, as kp_layout
 * says: halfword t holds row t - pt, or zero outside the image (kp_zero's pairs already are). */
static void kp_expand(int16_t *d, const int8_t *x, const kp_geo *g) {
    const size_t rs = g->rs;
    const int32_t off2 = g->off2;
    const uint32_t pad = g->pad;
    int32_t t = 2 * g->head0;
    for (int32_t i = 0; i < g->head; ++i, t += 2) {
        kp_pair(d, t, kp_row(x, rs, t - g->pt, g->rows, pad), kp_row(x, rs, t + 1 - g->pt, g->rows, pad), off2);
    }
    const int8_t *p = x + (ptrdiff_t)(t - g->pt) * (ptrdiff_t)rs;
    for (int32_t i = 0; i < g->mid; ++i, t += 2, p += 2 * rs) {
        kp_pair(d, t, en_read_u32(p), en_read_u32(p + rs), off2);
    }
    if (g->tail) {
        kp_pair(d, t, en_read_u32(p), pad, off2);
    }
}

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
#define KP_ASM 1 /* the ARMv7E-M instructions themselves, not the host emulation */
#else
#define KP_ASM 0
#endif

#if KP_ASM
/* Whole steps of four outputs of one channel column with three weight words a window (5 and
 * 6 taps), in assembly: GCC spilled the sums and reloaded a weight word four times a step
 * (84 instructions a step at stride 2; here 57). The assembly reads the run at these byte
 * offsets: a 0, y 4, quads 8, ch 12, ys 16, lo2 20, hi2 24; and kp_chan's b2, m, k, r at
 * 136..148. */
typedef struct {
    const kp_w32 *a;  /* channel 0's expanded column (the next channel's KP_ROWS halfwords on) */
    int8_t *y;        /* channel 0's first output (the next channel's one byte on) */
    int32_t quads;    /* steps a channel, >= 1 */
    const kp_chan *ch; /* channel 0's constants (the next channel's one kp_chan on) */
    size_t ys;        /* bytes from one output row to the next */
    int32_t lo2, hi2; /* the activation range in both int16 lanes */
    int32_t chans;    /* channels left, 4 at the call */
} kp_quad_run;

_Static_assert(offsetof(kp_chan, b2) == 136 && offsetof(kp_chan, m) == 140 &&
                   offsetof(kp_chan, k) == 144 && offsetof(kp_chan, r) == 148 &&
                   sizeof(kp_chan) == 152 && KP_ROWS * 2 == 1024 &&
                   offsetof(kp_quad_run, ys) == 16 && offsetof(kp_quad_run, lo2) == 20 &&
                   offsetof(kp_quad_run, chans) == 28,
               "kp_quads' offsets");

/* The loops around one step's sums s0..s3 (r8-r11; CHUNK computes them from r0 = window words
 * and r3 = ch, advancing r0 to the next step's): kp_out2 on each pair (SMMLAR, ADD of the
 * sign, ASR, SSAT, PKHBT; SSUB16 / SEL against lo2 and hi2), four STRB ys apart; then the
 * next of the group's four channels (the run in memory moves on to it). */
#define KP_QUADS_ASM(CHUNK, RQ)                                                                    \
    "push {r0, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n" /* the run at [sp] */                     \
    "2:\n\t"                                                                                       \
    "ldm r0, {r0, r1, r2, r3}\n"                          /* a, y, quads, ch */                   \
    "1:\n\t"                                                                                       \
    CHUNK                                                                                          \
    "ldr r4, [r3, #140]\n\t"                                                                       \
    "ldrd r5, r6, [r3, #144]\n\t"                                                                  \
    RQ("r7", "r8") RQ("r12", "r9")                                                                 \
    "pkhbt r7, r7, r12, lsl #16\n\t"                                                               \
    RQ("lr", "r10") RQ("r12", "r11")                                                               \
    "pkhbt lr, lr, r12, lsl #16\n\t"                                                               \
    "ldr r12, [sp]\n\t"                                                                            \
    KP_CLAMP                                                                                       \
    "ldr r4, [r12, #16]\n\t"                                                                       \
    "strb r7, [r1]\n\t"                                                                            \
    "lsr r6, r7, #16\n\t"                                                                          \
    "strb r6, [r1, r4]\n\t"                                                                        \
    "add r1, r1, r4, lsl #1\n\t"                                                                   \
    "strb lr, [r1]\n\t"                                                                            \
    "lsr r6, lr, #16\n\t"                                                                          \
    "strb r6, [r1, r4]\n\t"                                                                        \
    "add r1, r1, r4, lsl #1\n\t"                                                                   \
    "subs r2, r2, #1\n\t"                                                                          \
    "bne 1b\n\t"                                                                                   \
    "ldr r0, [sp]\n\t"                                                                             \
    "ldm r0, {r1, r2, r3, r4}\n\t"                                                                 \
    "add r1, r1, #1024\n\t"                                                                        \
    "adds r2, r2, #1\n\t"                                                                          \
    "add r4, r4, #152\n\t"                                                                         \
    "stm r0, {r1, r2, r3, r4}\n\t"                                                                 \
    "ldr r1, [r0, #28]\n\t"                                                                        \
    "subs r1, r1, #1\n\t"                                                                          \
    "str r1, [r0, #28]\n\t"                                                                        \
    "bne 2b\n\t"                                                                                   \
    "pop {r0, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"

/* Both pairs (r7, lr) clamped to the activation range, lo2 and hi2 read from the run (r12). */
#define KP_CLAMP                                                                                   \
    "ldrd r4, r5, [r12, #20]\n\t"                                                                  \
    "ssub16 r6, r7, r4\n\t"                                                                        \
    "sel r7, r7, r4\n\t"                                                                           \
    "ssub16 r6, r5, r7\n\t"                                                                        \
    "sel r7, r7, r5\n\t"                                                                           \
    "ssub16 r6, lr, r4\n\t"                                                                        \
    "sel lr, lr, r4\n\t"                                                                           \
    "ssub16 r6, r5, lr\n\t"                                                                        \
    "sel lr, lr, r5\n\t"

/* en_rq_fold_doubled then SSAT of the sum in A into D: r4 m, r5 k, r6 r. */
#define KP_RQ(D, A)                                                                                \
    "smmlar " D ", " A ", r4, r5\n\t"                                                              \
    "add " D ", " D ", " A ", asr #31\n\t"                                                         \
    "asr " D ", " D ", r6\n\t"                                                                     \
    "ssat " D ", #8, " D "\n\t"

/* The same without the sign's ADD, for act_min >= output_zp (ReLU, ReLU6): for a sum s < 0
 * the SMMLAR term is at most k = (2 zp + 1) << (r - 1), so both forms give at most
 * k >> r = zp after the shift, and the clamp then gives act_min from either; for s >= 0 the
 * ADD adds 0. */
#define KP_RQ_RELU(D, A)                                                                           \
    "smmlar " D ", " A ", r4, r5\n\t"                                                              \
    "asr " D ", " D ", r6\n\t"                                                                     \
    "ssat " D ", #8, " D "\n\t"

/* Stride 1: s0, s1 = sum_j SMLAD(A_j, {wa_j, wb_j}), s2, s3 the same on A_j+1 (w: wa0, wb0,
 * wa1, ...); the window moves two words a step. 19 instructions. */
#define KP_CHUNK_3_1                                                                               \
    "ldr r7, [r3, #136]\n\t"                                                                       \
    "ldrd r4, r5, [r3]\n\t"                                                                        \
    "ldrd r12, lr, [r0], #8\n\t"                                                                   \
    "smlad r8, r12, r4, r7\n\t"                                                                    \
    "smlad r9, r12, r5, r7\n\t"                                                                    \
    "smlad r10, lr, r4, r7\n\t"                                                                    \
    "smlad r11, lr, r5, r7\n\t"                                                                    \
    "ldrd r4, r5, [r3, #8]\n\t"                                                                    \
    "ldr r12, [r0]\n\t"                                                                            \
    "smlad r8, lr, r4, r8\n\t"                                                                     \
    "smlad r9, lr, r5, r9\n\t"                                                                     \
    "smlad r10, r12, r4, r10\n\t"                                                                  \
    "smlad r11, r12, r5, r11\n\t"                                                                  \
    "ldrd r4, r5, [r3, #16]\n\t"                                                                   \
    "ldr lr, [r0, #4]\n\t"                                                                         \
    "smlad r8, r12, r4, r8\n\t"                                                                    \
    "smlad r9, r12, r5, r9\n\t"                                                                    \
    "smlad r10, lr, r4, r10\n\t"                                                                   \
    "smlad r11, lr, r5, r11\n\t"

/* Stride 2: s_i = sum_j SMLAD(A_i+j, w_j), each window word used by every sum it reaches as
 * it is loaded; the window moves four words a step. 17 instructions. */
#define KP_CHUNK_3_2                                                                               \
    "ldm r3, {r4, r5, r6}\n\t"                                                                     \
    "ldr r7, [r3, #136]\n\t"                                                                       \
    "ldrd r12, lr, [r0]\n\t"                                                                       \
    "smlad r8, r12, r4, r7\n\t"                                                                    \
    "smlad r8, lr, r5, r8\n\t"                                                                     \
    "smlad r9, lr, r4, r7\n\t"                                                                     \
    "ldrd r12, lr, [r0, #8]\n\t"                                                                   \
    "smlad r8, r12, r6, r8\n\t"                                                                    \
    "smlad r9, r12, r5, r9\n\t"                                                                    \
    "smlad r10, r12, r4, r7\n\t"                                                                   \
    "smlad r9, lr, r6, r9\n\t"                                                                     \
    "smlad r10, lr, r5, r10\n\t"                                                                   \
    "smlad r11, lr, r4, r7\n\t"                                                                    \
    "ldrd r12, lr, [r0, #16]!\n\t"                                                                 \
    "smlad r10, r12, r6, r10\n\t"                                                                  \
    "smlad r11, r12, r5, r11\n\t"                                                                  \
    "smlad r11, lr, r6, r11\n\t"

#define KP_QUADS(NAME, CHUNK, RQ)                                                                  \
    __attribute__((naked, noinline)) static void NAME(kp_quad_run *run) {                          \
        (void)run; /* in r0 */                                                                     \
        __asm volatile(KP_QUADS_ASM(CHUNK, RQ));                                                   \
    }
KP_QUADS(kp_quads_3_1, KP_CHUNK_3_1, KP_RQ)
KP_QUADS(kp_quads_3_2, KP_CHUNK_3_2, KP_RQ)
KP_QUADS(kp_quads_3_1_relu, KP_CHUNK_3_1, KP_RQ_RELU)
KP_QUADS(kp_quads_3_2_relu, KP_CHUNK_3_2, KP_RQ_RELU)
#endif

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
        int32_t done = 0; /* outputs of each channel computed */
#if KP_ASM
        if (N == 3) { /* whole steps of the four channels in assembly */
            void (*quads)(kp_quad_run *) = S == 1 ? (g->relu ? kp_quads_3_1_relu : kp_quads_3_1)
                                                  : (g->relu ? kp_quads_3_2_relu : kp_quads_3_2);
            if (g->OH >= 4) {
                kp_quad_run run = {(const kp_w32 *)cols, y, g->OH / 4, ch, g->ys, g->lo2, g->hi2, 4};
                quads(&run);
                done = g->OH & ~3;
            }
            if (done < g->OH) { /* the last 1-3 outputs: one more step into tmp (rows 4 bytes
                                   apart), then their rows copied out */
                int8_t tmp[16] __attribute__((aligned(4)));
                kp_quad_run run = {(const kp_w32 *)(cols + done * S), tmp, 1, ch, 4, g->lo2, g->hi2, 4};
                quads(&run);
                for (int32_t i = 0; done + i < g->OH; ++i) {
                    __builtin_memcpy(y + (size_t)(done + i) * g->ys, tmp + 4 * i, 4);
                }
                done = g->OH;
            }
        }
#endif
        if (done < g->OH) {
            for (int32_t j = 0; j < 4; ++j) {
                kp_col(&ch[j], cols + j * KP_ROWS + done * S, g->OH - done, y + j + (size_t)done * g->ys,
                       g->ys, g->lo2, g->hi2, N, S);
            }
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
    g.relu = q->act_min >= q->output_zp;
    g.pad = ((uint32_t)q->input_zp & 0xFFu) * 0x01010101u;
    g.rs = (size_t)in_dims->w * (size_t)C;
    g.ys = (size_t)OW * (size_t)C;
    g.xcol = (size_t)p->stride_w * (size_t)C;
    g.ycol = (size_t)C;
    kp_layout(&g, T);
    kp_zero(cols, &g, T);
    const kp_fn run = kp_pick(n, sh);
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        kp_group_make(ch, q, w, bias, (size_t)C, K, c0, sh, n);
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
