/* ARMv7E-M conv with packed int8 filters: same contract and bytes as ref/conv2d_packed_s8.c.
 *
 * Four output pixels at a time (raster order, so a group may span rows), one output channel
 * per pass. The four pixels' windows are first expanded once into an int16 column buffer with
 * the input offset applied and zeros for padding taps (x - input_zp == 0 there: TFLite's
 * padding), interleaved so that 4-tap block j of pixel p is two words {x0, x2}, {x1, x3} at
 * col[(4j + p) * 2]. Then every output channel is a pure dot product over the buffer: per block
 * one word of 4 int8 weights is loaded and sign-extended once (SXTB16 gives {w0, w2}, with
 * ROR #8 {w1, w3}) and used by all four pixels: 27 instructions per 32 MACs in the unrolled
 * loop, and the filters stay int8 in flash. The expansion (expand_blocks: 12 instructions per
 * 8 taps) takes a window row at once where it lies inside the input (C_in % 4 == 0: one
 * contiguous run of KW * C_in bytes), and a stride-1 pointwise lane straight from its pixel; it
 * is shared by all C_out channels.
 * The accumulators of a batch of channels are then requantised together (rq4_batch: SMMULR,
 * SSAT; per-channel layers with shifts in [-22, -1] in the assembly rq4_fold, 35 instructions
 * per channel of four pixels), away from the dot-product loop's register pressure. en_conv2d_packed_in_place_s8 is
 * the same loop with out == in (a pointwise group's input is all in the buffer before any of
 * its outputs is written).
 * A fused residual ADD (en_conv2d_add_packed_s8) requantises the batch the same way into a small
 * buffer, then runs the ADD over each pixel's contiguous channels with the two scaled input
 * terms looked up in the table en_add_quant.lut (codegen.add_lut: exact TFLite values, 2 KB of
 * flash per layer) instead of computed: out = requant(t1[conv] + t2[skip]), 15 instructions
 * per element.
 * Windows wider than COL_MAX_TAPS use a one-pixel loop straight from the input (slower, any
 * size). Requantisation uses the SMMULR form (requant_fast.h) when the accumulator bound allows
 * it, else the exact 64-bit one. Accumulator bound as en_conv2d_s8: exact integer sums, so the
 * order is free.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/conv_packed.h"
#include "internal/dot_arm.h"
#include "internal/fixedpoint.h"
#include "internal/pix_cursor.h"
#include "internal/requant_fast.h"

enum {
    PIXELS = 4,          /* output pixels per pass */
    RQ_BATCH = 32,       /* output channels whose accumulators are requantised together */
    COL_MAX_TAPS = 576   /* window taps (L4) the column buffer holds: 3x3x64; 4.5 KB of stack */
};

/* en_conv2d_packed_in_place_s8 relies on its C_in always taking the column-buffer path. */
typedef char en_in_place_uses_col[EN_CONV_IN_PLACE_MAX_CIN <= COL_MAX_TAPS ? 1 : -1];

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
/* MAC of one block for the four pixels with weight pairs WE = {w0, w2}, WO = {w1, w3} */
#define EN_DOT4_MACS(WE, WO)                 \
    "ldm     r0!, {r8-r11}\n\t"              \
    "smlad   r4, r8, " WE ", r4\n\t"          \
    "smlad   r4, r9, " WO ", r4\n\t"          \
    "smlad   r5, r10, " WE ", r5\n\t"         \
    "smlad   r5, r11, " WO ", r5\n\t"         \
    "ldm     r0!, {r8-r11}\n\t"              \
    "smlad   r6, r8, " WE ", r6\n\t"          \
    "smlad   r6, r9, " WO ", r6\n\t"          \
    "smlad   r7, r10, " WE ", r7\n\t"         \
    "smlad   r7, r11, " WO ", r7\n\t"

/* dot_batch in one function, hand-scheduled: per channel r0 col, r1 w, r2 blocks; r4-r7 the
 * accumulators, seeded with the channel's bias, r8-r11 two pixels' input pairs (one LDM),
 * r3/r12/lr weights. The odd block runs first (LSRS puts it in the carry; no instruction in a
 * block changes the flags), then pairs of blocks whose two weight words come from one LDRD: 27
 * instructions per 32 MACs, and ~17 a channel around them (a C loop calling a dot4 function
 * took ~21). Every register is the inner loop's, so the channel loop's state lives in the run,
 * at these byte offsets: col 0, blocks 4, acc 8 (moves on), bias 12 (moves on), end 16. */
typedef struct {
    const int32_t *col;
    int32_t blocks;
    int32_t (*acc)[PIXELS];
    const int32_t *bias;
    int32_t (*end)[PIXELS];
} dot4_run;

_Static_assert(offsetof(dot4_run, acc) == 8 && offsetof(dot4_run, end) == 16, "dot4_batch's offsets");

__attribute__((naked, noinline)) static void dot4_batch(const int8_t *w, dot4_run *run) {
    (void)w;
    (void)run;
    __asm volatile(
        "push    {r1, r4-r11, lr}\n\t" /* the run at [sp] */
        "mov     r1, r0\n"
        "1:\n\t"
        "ldr     r12, [sp]\n\t"
        "ldm     r12, {r0, r2, r3, lr}\n\t" /* col, blocks, acc, bias */
        "ldr     r4, [lr], #4\n\t"
        "str     lr, [r12, #12]\n\t"
        "mov     r5, r4\n\t"
        "mov     r6, r4\n\t"
        "mov     r7, r4\n\t"
        "lsrs    r2, r2, #1\n\t"
        "bcc     2f\n\t"
        "ldr     r12, [r1], #4\n\t"
        "sxtb16  lr, r12\n\t"
        "sxtb16  r12, r12, ror #8\n\t"
        EN_DOT4_MACS("lr", "r12")
        "2:\n\t"
        "beq     4f\n"
        "3:\n\t"
        "ldrd    r3, r12, [r1], #8\n\t"
        "sxtb16  lr, r3\n\t"
        "sxtb16  r3, r3, ror #8\n\t"
        EN_DOT4_MACS("lr", "r3")
        "sxtb16  lr, r12\n\t"
        "sxtb16  r12, r12, ror #8\n\t"
        EN_DOT4_MACS("lr", "r12")
        "subs    r2, r2, #1\n\t"
        "bne     3b\n"
        "4:\n\t"
        "ldr     r12, [sp]\n\t"
        "ldr     r3, [r12, #8]\n\t"
        "stm     r3!, {r4-r7}\n\t"
        "str     r3, [r12, #8]\n\t"
        "ldr     r2, [r12, #16]\n\t"
        "cmp     r3, r2\n\t"
        "bne     1b\n\t"
        "pop     {r1, r4-r11, pc}\n\t");
}
#undef EN_DOT4_MACS
#define DOT4_BATCH_ASM 1
#else
/* acc[p] += sum over `blocks` 4-tap blocks of w * col for the four pixels p. */
static void dot4(const int32_t *col, const int8_t *w, int32_t blocks, int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; blocks > 0; --blocks, w += 4, col += 8) {
#if EN_HAVE_DSP
        const uint32_t wv = en_read_u32(w);
        const int16x2_t we = __sxtb16((int8x4_t)wv), wo = __sxtb16((int8x4_t)en_ror8(wv));
        a0 = __smlad(col[0], we, __smlad(col[1], wo, a0));
        a1 = __smlad(col[2], we, __smlad(col[3], wo, a1));
        a2 = __smlad(col[4], we, __smlad(col[5], wo, a2));
        a3 = __smlad(col[6], we, __smlad(col[7], wo, a3));
#else
        int32_t *a[4] = {&a0, &a1, &a2, &a3};
        for (int p = 0; p < 4; ++p) {
            const int32_t e = col[2 * p], o = col[2 * p + 1];
            *a[p] += w[0] * (int16_t)(e & 0xFFFF) + w[2] * (int16_t)((uint32_t)e >> 16) +
                     w[1] * (int16_t)(o & 0xFFFF) + w[3] * (int16_t)((uint32_t)o >> 16);
        }
#endif
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif
#ifndef DOT4_BATCH_ASM
#define DOT4_BATCH_ASM 0
#endif

/* acc[j][p] = bias[j] + dot product of channel j's filter row (w + j * taps4) with pixel p's
 * window, for nb channels. A function of its own so that its loop keeps every value in a
 * register (inlined into conv_packed it reloads one from the stack per channel). */
static void __attribute__((noinline)) dot_batch(const int32_t *col, const int8_t *w,
                                                int32_t blocks, int32_t taps4,
                                                const int32_t *bias, int32_t nb,
                                                int32_t (*acc)[PIXELS]) {
    static const int32_t zeros[RQ_BATCH];
    const int32_t *b = bias != NULL ? bias : zeros;
#if DOT4_BATCH_ASM
    (void)taps4; /* == 4 * blocks: the loop leaves w at the next channel's row */
    dot4_run run = {col, blocks, acc, b, acc + nb};
    dot4_batch(w, &run);
#else
    /* 8-byte aligned (the caller's array is): the bias goes in with two STRDs */
    int32_t (*a)[PIXELS] = __builtin_assume_aligned(acc, 8);
    for (int32_t j = 0; j < nb; ++j, w += taps4) {
        const int32_t b0 = b[j];
        a[j][0] = a[j][1] = a[j][2] = a[j][3] = b0;
        dot4(col, w, blocks, a[j]);
    }
#endif
}

/* One pixel (lane 0 of the column buffer): for a last group of one pixel, e.g. the odd pixel of
 * a 5-wide row in the banded in-place pointwise calls codegen makes. */
static int32_t dot1(const int32_t *col, const int8_t *w, int32_t blocks, int32_t acc) {
    for (; blocks > 0; --blocks, w += 4, col += 8) {
#if EN_HAVE_DSP
        const uint32_t wv = en_read_u32(w);
        acc = __smlad(col[0], __sxtb16((int8x4_t)wv), acc);
        acc = __smlad(col[1], __sxtb16((int8x4_t)en_ror8(wv)), acc);
#else
        const int32_t e = col[0], o = col[1];
        acc += w[0] * (int16_t)(e & 0xFFFF) + w[2] * (int16_t)((uint32_t)e >> 16) +
               w[1] * (int16_t)(o & 0xFFFF) + w[3] * (int16_t)((uint32_t)o >> 16);
#endif
    }
    return acc;
}

/* Expand `blocks` 4-byte blocks of x (offset added) into pixel lane `col` (stride 8 words): two
 * blocks per pass, 12 instructions (one LDRD, four SXTAB16 with the rotation folded in, four
 * STR, the pointers and the loop) instead of 9 per block. */
static inline void expand_blocks(const int8_t *x, int32_t blocks, int32_t off2, int32_t offset,
                                 int32_t *col) {
#if EN_HAVE_DSP
    (void)offset;
    if (blocks & 1) {
        const uint32_t v = en_read_u32(x);
        col[0] = __sxtab16(off2, (int8x4_t)v);
        col[1] = en_sxtab16_ror8(off2, v);
        x += 4, col += 8;
    }
    for (blocks >>= 1; blocks > 0; --blocks, x += 8, col += 16) {
        const uint32_t v0 = en_read_u32(x), v1 = en_read_u32(x + 4);
        col[0] = __sxtab16(off2, (int8x4_t)v0);
        col[1] = en_sxtab16_ror8(off2, v0);
        col[8] = __sxtab16(off2, (int8x4_t)v1);
        col[9] = en_sxtab16_ror8(off2, v1);
    }
#else
    (void)off2;
    for (; blocks > 0; --blocks, x += 4, col += 8) {
        col[0] = (int32_t)(((uint32_t)(x[0] + offset) & 0xFFFFu) | ((uint32_t)(x[2] + offset) << 16));
        col[1] = (int32_t)(((uint32_t)(x[1] + offset) & 0xFFFFu) | ((uint32_t)(x[3] + offset) << 16));
    }
#endif
}

static inline void zero_blocks(int32_t blocks, int32_t *col) {
    for (; blocks > 0; --blocks, col += 8) {
        col[0] = 0;
        col[1] = 0;
    }
}

typedef struct {
    const en_conv_params *p;
    const en_dims *in_dims;
    const en_dims *w_dims;
    const en_dims *out_dims;
    const int8_t *in;
    int32_t zp;      /* input zero point */
    int32_t offset;  /* -zp */
    int32_t off2;    /* offset in both halfwords */
    int32_t taps;    /* L = KH * KW * C_in */
    int32_t taps4;   /* L4 */
    int pointwise;   /* 1x1, stride 1, no padding, C_in % 4 == 0: pixel p's window is the
                        C_in bytes at in + p * C_in (no index arithmetic per lane) */
} geom_t;

/* The window at input (ih0, iw0) as L int8 values, input_zp for taps outside the input. */
static void fill_win_clipped(const geom_t *g, const int8_t *in_b, int32_t ih0, int32_t iw0,
                             int8_t *dst) {
    const en_dims *id = g->in_dims;
    const int32_t cin = id->c, kh_n = g->w_dims->h, kw_n = g->w_dims->w;
    const int8_t zp = (int8_t)g->zp;
    for (int32_t kh = 0; kh < kh_n; ++kh) {
        const int32_t ih = ih0 + kh * g->p->dilation_h;
        const int row_ok = ih >= 0 && ih < id->h;
        for (int32_t kw = 0; kw < kw_n; ++kw) {
            const int32_t iw = iw0 + kw * g->p->dilation_w;
            if (row_ok && iw >= 0 && iw < id->w) {
                const int8_t *x = in_b + ((size_t)ih * id->w + iw) * cin;
                for (int32_t ci = 0; ci < cin; ++ci) {
                    *dst++ = x[ci];
                }
            } else {
                for (int32_t ci = 0; ci < cin; ++ci) {
                    *dst++ = zp;
                }
            }
        }
    }
}

/* Column lane of output pixel k. `win` is an L4-byte scratch for windows whose C_in is not a
 * multiple of 4. */
static void fill_lane(const geom_t *g, const en_pix_cursor *k, int32_t *col, int8_t *win) {
    const en_dims *id = g->in_dims;
    const int32_t cin = id->c, kh_n = g->w_dims->h, kw_n = g->w_dims->w;
    int32_t ih0, iw0;
    en_pix_cursor_origin(g->p, k, &ih0, &iw0);
    const int8_t *in_b = g->in + (size_t)k->b * id->h * id->w * cin;
    if (cin % 4 == 0) {
        const int32_t cb = cin / 4;
        /* a window row wholly inside the input is one contiguous run of kw_n * C_in bytes */
        const int row_inside = g->p->dilation_w == 1 && iw0 >= 0 && iw0 + kw_n <= id->w;
        for (int32_t kh = 0; kh < kh_n; ++kh) {
            const int32_t ih = ih0 + kh * g->p->dilation_h;
            if (row_inside && ih >= 0 && ih < id->h) {
                expand_blocks(in_b + ((size_t)ih * id->w + iw0) * cin, kw_n * cb, g->off2, g->offset,
                              col);
                col += 8 * cb * kw_n;
                continue;
            }
            for (int32_t kw = 0; kw < kw_n; ++kw, col += 8 * cb) {
                const int32_t iw = iw0 + kw * g->p->dilation_w;
                if (ih < 0 || ih >= id->h || iw < 0 || iw >= id->w) {
                    zero_blocks(cb, col);
                } else {
                    expand_blocks(in_b + ((size_t)ih * id->w + iw) * cin, cb, g->off2, g->offset,
                                  col);
                }
            }
        }
        return;
    }
    /* C_in % 4 != 0 (e.g. a first conv on one channel): gather bytes with plain loops, as a
     * memcpy / memset call per tap costs more than the few bytes it moves; a window inside the
     * input (undilated) is kh_n runs of kw_n * C_in bytes, copied without per-tap checks. */
    int8_t *dst = win;
    const int8_t zp = (int8_t)g->zp;
    if (g->p->dilation_h == 1 && g->p->dilation_w == 1 && ih0 >= 0 && ih0 + kh_n <= id->h &&
        iw0 >= 0 && iw0 + kw_n <= id->w) {
        const int32_t run = kw_n * cin;
        const size_t row = (size_t)id->w * cin;
        const int8_t *x = in_b + ((size_t)ih0 * id->w + iw0) * cin;
        for (int32_t kh = 0; kh < kh_n; ++kh, x += row) {
            for (int32_t i = 0; i < run; ++i) {
                *dst++ = x[i];
            }
        }
    } else {
        fill_win_clipped(g, in_b, ih0, iw0, dst);
        dst += g->taps;
    }
    for (int32_t k4 = g->taps; k4 < g->taps4; ++k4) {
        *dst++ = zp; /* weights are 0 there */
    }
    expand_blocks(win, g->taps4 / 4, g->off2, g->offset, col);
}


/* The output side of a call. A full group of four pixels is requantised a batch of channels
 * at a time: by rq4_batch when there is no ADD and `fast`, by `add_batch` with a fused ADD
 * (NULL when the call does not allow it); anything else goes through the per-channel `store`.
 * The ADD's functions are reached only through pointers that en_conv2d_add_packed_s8 sets,
 * so firmware without residual ADDs (gc-sections) does not link them. */
typedef struct outq outq_t;
typedef void (*batch_fn)(const outq_t *o, int32_t co, int32_t nb, const int32_t (*acc)[PIXELS],
                         const int8_t *skip, int8_t *y, int32_t cout);
typedef void (*store_fn)(const outq_t *o, int32_t co, const int32_t *acc, int32_t n,
                         const int8_t *skip, int8_t *y, int32_t cout);
struct outq {
    const en_requant *q;
    const en_add_quant *a;
    int fast;          /* every channel's accumulator bound allows the SMMULR requantisation */
    batch_fn add_batch;
    store_fn store;
    /* fused ADD with a->lut: a_1(x) = t1[x], a_2(x) = t2[x] (x in [-128, 127]) */
    const int32_t *t1, *t2;
    /* the ADD's output stage in the SMMULR form, for a_1 + a_2 (see outq_init_add) */
    int32_t add_m, add_rs, add_zp2;
    /* without a table, when the bounds allow: the two scaled terms and the output in the
     * SMMULR form (add_rq set; rq4_add_batch_rq), else the exact 64-bit form */
    int add_rq;
    en_rq add1, add2, addo;
    /* fast, per channel, every shift in [-22, -1] and the activation range int8's: rq4_batch
     * runs the folded form in assembly (rq4_fold) */
    int fold;
};

/* en_rq_scale for a right shift (rs = -shift - 1 >= 0, zp2 = 2 * output_zp + 1), saturated to
 * int8: SSAT takes the final halving as its shift operand. */
static inline __attribute__((always_inline)) int32_t rq_down(int32_t acc, int32_t m, int32_t rs, int32_t zp2) {
    const int32_t t = en_smmulr((int32_t)((uint32_t)acc << 1), m);
    return en_ssat8((((t + (t >> 31)) >> rs) + zp2) >> 1);
}

/* y[0], y[c1], y[c2], y[c3] = v0..v3 (low bytes): four STRB with register offsets from one
 * pointer (GCC otherwise keeps four pointers and spills them in rq4_batch's loop). */
static inline __attribute__((always_inline)) void store4_strided(int8_t *y, int32_t c1, int32_t c2,
                                                                 int32_t c3, int32_t v0, int32_t v1,
                                                                 int32_t v2, int32_t v3) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP) && defined(__OPTIMIZE__)
    /* eight register operands: not at -O0, which keeps a frame pointer */
    __asm volatile("strb %1, [%0]\n\t"
                   "strb %2, [%0, %5]\n\t"
                   "strb %3, [%0, %6]\n\t"
                   "strb %4, [%0, %7]"
                   :
                   : "r"(y), "r"(v0), "r"(v1), "r"(v2), "r"(v3), "r"(c1), "r"(c2), "r"(c3)
                   : "memory");
#else
    y[0] = (int8_t)v0;
    y[c1] = (int8_t)v1;
    y[c2] = (int8_t)v2;
    y[c3] = (int8_t)v3;
#endif
}

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
#define RQ4_FOLD_ASM 1
/* rq4_fold's arguments; the assembly reads them at these byte offsets: mult 0, shift 4, zp2 8,
 * cout 12. */
typedef struct {
    const int32_t *mult, *shift; /* channel co's */
    int32_t zp2;                 /* 2 * output_zp + 1 */
    int32_t cout;                /* bytes from one pixel's output to the next */
} rq4_fold_args;

/* One value V of rq4_fold (en_rq_fold, then SSAT into V): r11 mult, r12 k, lr r, r2 scratch. */
#define RQ4_FOLD(V)                                                                                \
    "lsl r2, " V ", #1\n\t"                                                                        \
    "smmlar r2, r2, r11, r12\n\t"                                                                 \
    "add r2, r2, " V ", asr #31\n\t"                                                               \
    "asr r2, r2, lr\n\t"                                                                            \
    "ssat " V ", #8, r2\n\t"

/* rq4_batch for an outq with fold set: per channel (y < y_end, one byte of y per channel) its
 * multiplier and shift, k = zp2 << (r - 1) with r = -shift, then each of the four accumulators
 * (one LDM) in five instructions and four STRB: 35 instructions per channel (about 48 from C,
 * which keeps four output pointers and spills them). */
__attribute__((naked, noinline)) static void rq4_fold(const int32_t (*acc)[PIXELS], int8_t *y,
                                                      int8_t *y_end, const rq4_fold_args *f) {
    (void)acc, (void)y, (void)y_end, (void)f; /* in r0-r3 */
    __asm volatile("push {r2, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t" /* y_end at [sp] */
                   "ldm r3, {r8, r9, r10}\n\t" /* mult, shift, zp2 */
                   "ldr r3, [r3, #12]\n" /* cout */
                   "1:\n\t"
                   "ldr r11, [r8], #4\n\t"
                   "ldr lr, [r9], #4\n\t"
                   "ldm r0!, {r4, r5, r6, r7}\n\t"
                   "rsb lr, lr, #0\n\t"
                   "sub r12, lr, #1\n\t"
                   "lsl r12, r10, r12\n\t"
                   RQ4_FOLD("r4") RQ4_FOLD("r5") RQ4_FOLD("r6") RQ4_FOLD("r7")
                   "strb r4, [r1]\n\t"
                   "strb r5, [r1, r3]\n\t"
                   "add r2, r1, r3, lsl #1\n\t"
                   "strb r6, [r2]\n\t"
                   "strb r7, [r2, r3]\n\t"
                   "add r1, r1, #1\n\t"
                   "ldr r2, [sp]\n\t"
                   "cmp r1, r2\n\t"
                   "bne 1b\n\t"
                   "pop {r2, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n");
}
#undef RQ4_FOLD
#else
#define RQ4_FOLD_ASM 0
#endif

/* Requantise the four pixels' accumulators acc[j] of channels co..co + nb - 1 in the SMMULR
 * form (callers checked en_rq_fits for every channel) and store them at y[j + i * cout]. As
 * en_rq_apply; for the usual right shifts of 1..22 in the folded form (en_rq_fold: SMMLAR, ADD,
 * ASR, SSAT per value), else with SSAT doing the final halving and the int8 clamp in one
 * instruction; act_min/act_max inside [-128, 127] are applied after it only when narrower
 * (clamping to a range after a wider one is the same clamp). */
static void __attribute__((noinline)) rq4_batch(const outq_t *o, int32_t co, int32_t nb,
                                                const int32_t (*acc)[PIXELS], int8_t *y,
                                                int32_t cout) {
    const en_requant *q = o->q;
#if RQ4_FOLD_ASM
    if (o->fold) {
        const rq4_fold_args f = {q->mult + co, q->shift + co, 2 * q->output_zp + 1, cout};
        rq4_fold(acc, y, y + nb, &f);
        return;
    }
#endif
    const int32_t step = q->per_channel ? 1 : 0;
    const int32_t *mp = q->mult + step * co, *sp = q->shift + step * co;
    const int32_t zp = q->output_zp, zp2 = 2 * zp + 1, lo = q->act_min, hi = q->act_max;
    const int clamp = lo > EN_INT8_MIN || hi < EN_INT8_MAX;
    const int32_t c2 = 2 * cout, c3 = 3 * cout;
    for (int32_t j = 0; j < nb; ++j, mp += step, sp += step, ++y) {
        const int32_t m = *mp, sh = *sp;
        const int32_t *a = acc[j];
        int32_t v0, v1, v2, v3;
        if (en_rq_fold_ok(sh)) {
            const int32_t r = -sh, k = en_rq_fold_k(zp2, sh);
            v0 = en_ssat8(en_rq_fold(a[0], m, k, r));
            v1 = en_ssat8(en_rq_fold(a[1], m, k, r));
            v2 = en_ssat8(en_rq_fold(a[2], m, k, r));
            v3 = en_ssat8(en_rq_fold(a[3], m, k, r));
        } else if (sh < 0) {
            const int32_t rs = -sh - 1;
            v0 = rq_down(a[0], m, rs, zp2);
            v1 = rq_down(a[1], m, rs, zp2);
            v2 = rq_down(a[2], m, rs, zp2);
            v3 = rq_down(a[3], m, rs, zp2);
        } else {
            const int32_t ls = sh + 1;
            v0 = en_ssat8(en_smmulr((int32_t)((uint32_t)a[0] << ls), m) + zp);
            v1 = en_ssat8(en_smmulr((int32_t)((uint32_t)a[1] << ls), m) + zp);
            v2 = en_ssat8(en_smmulr((int32_t)((uint32_t)a[2] << ls), m) + zp);
            v3 = en_ssat8(en_smmulr((int32_t)((uint32_t)a[3] << ls), m) + zp);
        }
        if (clamp) {
            v0 = en_clamp_i32(v0, lo, hi);
            v1 = en_clamp_i32(v1, lo, hi);
            v2 = en_clamp_i32(v2, lo, hi);
            v3 = en_clamp_i32(v3, lo, hi);
        }
        store4_strided(y, cout, c2, c3, v0, v1, v2, v3);
    }
}

/* The general output path: channel co of n <= 4 pixels, exact 64-bit or SMMULR form. */
static void store_plain(const outq_t *o, int32_t co, const int32_t *acc, int32_t n,
                        const int8_t *skip, int8_t *y, int32_t cout) {
    (void)skip;
    const en_requant *q = o->q;
    const int32_t qc = q->per_channel ? co : 0;
    if (o->fast) {
        const en_rq r = en_rq_make(q->mult[qc], q->shift[qc], q->output_zp, q->act_min, q->act_max);
        for (int32_t i = 0; i < n; ++i) {
            y[(size_t)i * cout] = en_rq_apply(&r, acc[i]);
        }
        return;
    }
    for (int32_t i = 0; i < n; ++i) {
        y[(size_t)i * cout] = en_requant_fast(acc[i], q->mult[qc], q->shift[qc], q->output_zp,
                                              q->act_min, q->act_max);
    }
}

/* ---- fused ADD (reached only from en_conv2d_add_packed_s8) ---- */

/* ADD of the conv output v and the skip value s, exact in every case: the two scaled terms
 * from the table when there is one, else computed; then the output requantisation. */
static inline __attribute__((always_inline)) int8_t add_elem(const outq_t *o, int32_t v, int32_t s) {
    const en_add_quant *a = o->a;
    int32_t r;
    if (o->t1 != NULL) {
        r = o->t1[v] + o->t2[s];
    } else if (o->add_rq) {
        const int32_t s1 = (int32_t)((uint32_t)(v - a->in1_zp) << a->left_shift);
        const int32_t s2 = (int32_t)((uint32_t)(s - a->in2_zp) << a->left_shift);
        return en_rq_apply(&o->addo, en_rq_scale(&o->add1, s1) + en_rq_scale(&o->add2, s2));
    } else {
        const int32_t s1 = (int32_t)((uint32_t)(v - a->in1_zp) << a->left_shift);
        const int32_t s2 = (int32_t)((uint32_t)(s - a->in2_zp) << a->left_shift);
        r = en_mbqm_fast(s1, a->in1_mult, a->in1_shift) + en_mbqm_fast(s2, a->in2_mult, a->in2_shift);
    }
    return en_requant_fast(r, a->out_mult, a->out_shift, a->out_zp, a->act_min, a->act_max);
}

/* store_plain, then the ADD per element; skip[i * cout] is read before y[i * cout] is written
 * (y may be skip). */
static void store_add(const outq_t *o, int32_t co, const int32_t *acc, int32_t n,
                      const int8_t *skip, int8_t *y, int32_t cout) {
    int8_t v[PIXELS];
    store_plain(o, co, acc, n, NULL, v, 1);
    for (int32_t i = 0; i < n; ++i) {
        y[(size_t)i * cout] = add_elem(o, v[i], skip[(size_t)i * cout]);
    }
}

/* out[j] = ADD(v[j], skip[j]) for j < n through the tables, the output stage in the SMMULR
 * form (am, ars, azp2: multiplier, right shift - 1, 2 * zp + 1; outq_init_add checked the
 * bound). skip[j] is read before out[j] is written (out may be skip). `clamp` is a constant
 * at each call site, so the common loop (activation range int8 wide) has no test in it: 14
 * instructions per element at -O2 (unrolling it made GCC's code no shorter). */
static inline __attribute__((always_inline)) void add_run(const outq_t *o, const int8_t *v,
                                                          const int8_t *skip, int8_t *out,
                                                          int32_t n, int clamp) {
    const int32_t *t1 = o->t1, *t2 = o->t2;
    const int32_t am = o->add_m, ars = o->add_rs, azp2 = o->add_zp2;
    const int32_t lo = o->a->act_min, hi = o->a->act_max;
    for (int32_t j = 0; j < n; ++j) {
        int32_t r = rq_down(t1[v[j]] + t2[skip[j]], am, ars, azp2);
        if (clamp) {
            r = en_clamp_i32(r, lo, hi);
        }
        out[j] = (int8_t)r;
    }
}

/* The fused batch: rq4_batch's conv requantisation into a small buffer (pixel i's nb values
 * at v + i * nb), then the ADD over each pixel's contiguous channels, through the tables, so
 * the two scaled terms cost a table load each instead of a multiply-round-shift chain each.
 * Two tight loops keep every constant in a register (one loop doing both spills them). When
 * the batch holds every channel, the four pixels are one contiguous run. */
static void __attribute__((noinline)) rq4_add_batch(const outq_t *o, int32_t co, int32_t nb,
                                                    const int32_t (*acc)[PIXELS],
                                                    const int8_t *skip, int8_t *y, int32_t cout) {
    int8_t v[PIXELS * RQ_BATCH];
    rq4_batch(o, co, nb, acc, v, nb);
    const int clamp = o->a->act_min > EN_INT8_MIN || o->a->act_max < EN_INT8_MAX;
    const int32_t runs = nb == cout ? 1 : PIXELS, len = nb == cout ? PIXELS * nb : nb;
    for (int32_t i = 0; i < runs; ++i, skip += cout, y += cout) {
        if (clamp) {
            add_run(o, v + i * nb, skip, y, len, 1);
        } else {
            add_run(o, v + i * nb, skip, y, len, 0);
        }
    }
}

/* rq4_add_batch without a table (codegen leaves it out of small ADDs): the two scaled terms
 * and the output in the SMMULR form (outq_init_add checked their bounds), same runs. */
static void __attribute__((noinline)) rq4_add_batch_rq(const outq_t *o, int32_t co, int32_t nb,
                                                       const int32_t (*acc)[PIXELS],
                                                       const int8_t *skip, int8_t *y, int32_t cout) {
    int8_t v[PIXELS * RQ_BATCH];
    rq4_batch(o, co, nb, acc, v, nb);
    const en_add_quant *a = o->a;
    const int32_t z1 = a->in1_zp, z2 = a->in2_zp, ls = a->left_shift;
    const int32_t runs = nb == cout ? 1 : PIXELS, len = nb == cout ? PIXELS * nb : nb;
    for (int32_t i = 0; i < runs; ++i, skip += cout, y += cout) {
        const int8_t *vi = v + i * nb;
        for (int32_t j = 0; j < len; ++j) {
            const int32_t s1 = (int32_t)((uint32_t)(vi[j] - z1) << ls);
            const int32_t s2 = (int32_t)((uint32_t)(skip[j] - z2) << ls);
            y[j] = en_rq_apply(&o->addo, en_rq_scale(&o->add1, s1) + en_rq_scale(&o->add2, s2));
        }
    }
}

/* Sets the ADD side of o: the tables, and the fused batch when the whole call allows the
 * SMMULR forms. |a_k| <= 255 << left_shift (|x - zp| <= 255, multiplier < 1), so
 * |a_1 + a_2| <= 2 * (255 << left_shift) + 2 (rounding). */
static void outq_init_add(outq_t *o, const en_add_quant *a) {
    o->a = a;
    o->store = store_add;
    o->t1 = a->lut != NULL ? a->lut + 128 : NULL;
    o->t2 = a->lut != NULL ? a->lut + 256 + 128 : NULL;
    o->add_m = a->out_mult;
    o->add_rs = -a->out_shift - 1;
    o->add_zp2 = 2 * a->out_zp + 1;
    const int64_t r_bound = 2 * (((int64_t)255 << a->left_shift) + 1);
    const int add_fast = a->lut != NULL && a->out_shift < 0 && en_rq_fits(r_bound, a->out_shift);
    /* No table (codegen leaves it out of small ADDs to save flash): each scaled term in the
     * SMMULR form when |(x - zp) << left_shift| <= 255 << left_shift fits it, the sum too. */
    const int64_t s_bound = (int64_t)255 << a->left_shift;
    o->add_rq = a->in1_shift <= 0 && a->in2_shift <= 0 && en_rq_fits(s_bound, 0) &&
                en_rq_fits(2 * (s_bound + 1), a->out_shift);
    o->add1 = en_rq_make(a->in1_mult, a->in1_shift, 0, INT32_MIN, INT32_MAX);
    o->add2 = en_rq_make(a->in2_mult, a->in2_shift, 0, INT32_MIN, INT32_MAX);
    o->addo = en_rq_make(a->out_mult, a->out_shift, a->out_zp, a->act_min, a->act_max);
    o->add_batch = !o->fast ? NULL : add_fast ? rq4_add_batch : o->add_rq ? rq4_add_batch_rq : NULL;
}

static void outq_init(outq_t *o, const en_requant *q, const int32_t *bias, int32_t cout,
                      int32_t taps) {
    o->q = q;
    o->a = NULL;
    o->t1 = o->t2 = NULL;
    o->add_m = o->add_rs = o->add_zp2 = 0;
    o->add_rq = 0;
    /* |acc| <= |bias| + L * 255 * 128 (|x - zp| <= 255, |w| <= 128) */
    const int64_t tap_bound = (int64_t)taps * 255 * 128;
    o->fast = 1;
    for (int32_t c = 0; c < cout && o->fast; ++c) {
        const int64_t b = bias == NULL ? 0 : (bias[c] < 0 ? -(int64_t)bias[c] : bias[c]);
        o->fast = en_rq_fits(b + tap_bound, q->shift[q->per_channel ? c : 0]);
    }
    o->fold = o->fast && q->per_channel && q->act_min == EN_INT8_MIN && q->act_max == EN_INT8_MAX;
    for (int32_t c = 0; c < cout && o->fold; ++c) {
        o->fold = en_rq_fold_ok(q->shift[c]);
    }
    o->add_batch = NULL;
    o->store = store_plain;
}

/* One output pixel straight from the input (windows too large for the column buffer). */
static void pixel_direct(const geom_t *g, const outq_t *o, const int8_t *w, const int32_t *bias,
                         const en_pix_cursor *k, const int8_t *skip, int8_t *y) {
    const en_dims *id = g->in_dims;
    const int32_t cin = id->c, kh_n = g->w_dims->h, kw_n = g->w_dims->w, cout = g->out_dims->c;
    int32_t ih0, iw0;
    en_pix_cursor_origin(g->p, k, &ih0, &iw0);
    const int8_t *in_b = g->in + (size_t)k->b * id->h * id->w * cin;
    for (int32_t co = 0; co < cout; ++co) {
        const int8_t *wc = w + (size_t)co * g->taps4;
        int32_t acc = bias != NULL ? bias[co] : 0;
        for (int32_t kh = 0; kh < kh_n; ++kh) {
            const int32_t ih = ih0 + kh * g->p->dilation_h;
            if (ih < 0 || ih >= id->h) {
                continue;
            }
            for (int32_t kw = 0; kw < kw_n; ++kw) {
                const int32_t iw = iw0 + kw * g->p->dilation_w;
                if (iw < 0 || iw >= id->w) {
                    continue;
                }
                acc = en_dot_s8(in_b + ((size_t)ih * id->w + iw) * cin,
                                wc + ((size_t)kh * kw_n + kw) * cin, cin, g->offset, acc);
            }
        }
        o->store(o, co, &acc, 1, skip == NULL ? NULL : skip + co, y + co, cout);
    }
}

/* Every output pixel straight from the input; out of line, so the column path's registers are
 * allocated as if it were not there. */
static __attribute__((noinline)) void conv_direct(const geom_t *g, const outq_t *o, const int8_t *w,
                                                  const int32_t *bias, const int8_t *skip, int8_t *out) {
    const en_dims *od = g->out_dims;
    const size_t pixels = (size_t)od->n * od->h * od->w;
    en_pix_cursor k = {0, 0, 0};
    for (size_t pix = 0; pix < pixels; ++pix, en_pix_cursor_next(od, &k)) {
        const size_t at = pix * (size_t)od->c;
        pixel_direct(g, o, w, bias, &k, skip == NULL ? NULL : skip + at, out + at);
    }
}

/* The conv with the output side `o` (outq_init, and outq_init_add for a fused ADD). */
static void conv_packed(const en_conv_params *p, const outq_t *o, const en_dims *in_dims,
                        const int8_t *in, const en_dims *w_dims, const int8_t *w,
                        const int32_t *bias, const int8_t *skip, const en_dims *out_dims,
                        int8_t *out) {
    geom_t g;
    g.p = p;
    g.in_dims = in_dims;
    g.w_dims = w_dims;
    g.out_dims = out_dims;
    g.in = in;
    g.zp = o->q->input_zp;
    g.offset = -o->q->input_zp;
    g.off2 = (int32_t)(((uint32_t)g.offset & 0xFFFFu) * 0x00010001u);
    g.taps = w_dims->h * w_dims->w * w_dims->c;
    g.taps4 = (int32_t)en_packed_row_values(w_dims);
    g.pointwise = w_dims->h == 1 && w_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                  p->pad_top == 0 && p->pad_left == 0 && in_dims->c % 4 == 0 &&
                  out_dims->h == in_dims->h && out_dims->w == in_dims->w;
    const int32_t cout = out_dims->c;
    const size_t pixels = (size_t)out_dims->n * out_dims->h * out_dims->w;
    if (g.taps4 > COL_MAX_TAPS) {
        conv_direct(&g, o, w, bias, skip, out);
        return;
    }
    int32_t col[PIXELS * COL_MAX_TAPS / 2]; /* int16 pairs, word-aligned for LDM */
    int32_t acc[RQ_BATCH][PIXELS] __attribute__((aligned(8)));
    int8_t win[COL_MAX_TAPS];
    const int32_t blocks = g.taps4 / 4;
    en_pix_cursor at = {0, 0, 0}; /* pixel pix, kept only while windows are gathered */
    for (size_t pix = 0; pix < pixels; pix += PIXELS) {
        const int32_t n = pixels - pix < PIXELS ? (int32_t)(pixels - pix) : PIXELS;
        if (g.pointwise && n == PIXELS) {
            const int8_t *x = in + pix * (size_t)g.taps;
            for (int32_t i = 0; i < PIXELS; ++i, x += g.taps) {
                expand_blocks(x, blocks, g.off2, g.offset, col + 2 * i);
            }
        } else {
            if (g.pointwise) { /* the last, short pass of a pointwise conv */
                at = en_pix_cursor_at(out_dims, pix);
            }
            for (int32_t i = 0; i < PIXELS; ++i) {
                if (i < n) {
                    fill_lane(&g, &at, col + 2 * i, win);
                    en_pix_cursor_next(out_dims, &at);
                } else if (n > 1) {
                    zero_blocks(blocks, col + 2 * i);
                }
            }
        }
        const size_t at = pix * (size_t)cout;
        const int8_t *wc = w;
        if (n == PIXELS && (o->a == NULL ? o->fast : o->add_batch != NULL)) {
            /* the common case: dot products of a batch of channels, then their SMMULR
             * requantisation (and ADD) in a separate tight loop (fewer live values, no spills) */
            for (int32_t co = 0; co < cout; co += RQ_BATCH) {
                const int32_t nb = cout - co < RQ_BATCH ? cout - co : RQ_BATCH;
                dot_batch(col, wc, blocks, g.taps4, bias == NULL ? NULL : bias + co, nb, acc);
                wc += (size_t)nb * g.taps4;
                if (o->a == NULL) {
                    rq4_batch(o, co, nb, (const int32_t(*)[PIXELS])acc, out + at + co, cout);
                } else {
                    o->add_batch(o, co, nb, (const int32_t(*)[PIXELS])acc, skip + at + co,
                                 out + at + co, cout);
                }
            }
            continue;
        }
        for (int32_t co = 0; co < cout; ++co, wc += g.taps4) {
            const int32_t b0 = bias != NULL ? bias[co] : 0;
            int32_t acc[PIXELS] __attribute__((aligned(8))) = {b0, b0, b0, b0};
            if (n == 1) {
                acc[0] = dot1(col, wc, blocks, b0);
            } else {
                dot_batch(col, wc, blocks, g.taps4, &b0, 1, &acc);
            }
            o->store(o, co, acc, n, skip == NULL ? NULL : skip + at + co, out + at + co, cout);
        }
    }
}

en_status en_conv2d_packed_s8(const en_conv_params *p, const en_requant *q,
                              const en_dims *in_dims, const int8_t *in,
                              const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                              const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, NULL, in_dims, in, w_dims, w, NULL, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    outq_t o;
    outq_init(&o, q, bias, out_dims->c, w_dims->h * w_dims->w * w_dims->c);
    conv_packed(p, &o, in_dims, in, w_dims, w, bias, NULL, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_add_packed_s8(const en_conv_params *p, const en_requant *q,
                                  const en_add_quant *a, const en_dims *in_dims,
                                  const int8_t *in, const en_dims *w_dims, const int8_t *w,
                                  const int32_t *bias, const int8_t *skip,
                                  const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, a, in_dims, in, w_dims, w, skip, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    outq_t o;
    outq_init(&o, q, bias, out_dims->c, w_dims->h * w_dims->w * w_dims->c);
    outq_init_add(&o, a);
    conv_packed(p, &o, in_dims, in, w_dims, w, bias, skip, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_packed_in_place_s8(const en_requant *q, const en_dims *in_dims, int8_t *io,
                                       const en_dims *w_dims, const int8_t *w,
                                       const int32_t *bias, const en_dims *out_dims) {
    if (en_conv_in_place_check_args(q, in_dims, io, w_dims, w, out_dims) != EN_OK) {
        return EN_ERR_ARG;
    }
    /* C_in <= COL_MAX_TAPS, so conv_packed takes the column-buffer path: each group of four
     * pixels is expanded into the buffer before any of its outputs is written, and those land
     * at or before the group's input (C_out <= C_in); later groups are still intact. */
    static const en_conv_params pointwise = {1, 1, 1, 1, 0, 0};
    outq_t o;
    outq_init(&o, q, bias, out_dims->c, w_dims->h * w_dims->w * w_dims->c);
    conv_packed(&pointwise, &o, in_dims, io, w_dims, w, bias, NULL, out_dims, io);
    return EN_OK;
}
