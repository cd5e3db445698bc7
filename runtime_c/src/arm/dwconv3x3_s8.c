/* ARMv7E-M 3x3 depthwise convolution at stride 1 or 2: en_dwconv2d_3x3_s8 (kernels.h), same
 * contract and results as ref/dwconv2d_s8.c.
 *
 * The compiler calls this entry point for 3x3 layers at stride 1x1 or 2x2 with a multiple of 4
 * channels and rows of 8 to 128 pixels, or narrower rows whose columns are that long, run
 * transposed (edgenas.deploy.codegen.dw3x3_window; internal/dw3x3_plan.h, d3_plan). Other
 * calls return EN_ERR_ARG instead of falling back, so a model whose depthwise layers all come
 * here (DS-CNN) does not link the general engine. A separate file and entry point, so firmware
 * without such layers does not link it (--gc-sections).
 *
 * Transposed view (d3_view): image columns become the rows below (pixel step W * C, row step C,
 * the filter read column by column), the same loops otherwise; DS-CNN's 25x5 maps run as 5
 * rows of 25 outputs instead of 25 rows of 5, where the fixed costs per row and channel would
 * outweigh the multiply-adds.
 *
 * Why a strategy of its own: on 3x3 windows the general row engine (arm/dwconv2d_s8.c) spends
 * more per output on its fixed costs (ring columns of four slots, per-rotation layouts, two
 * passes over bands, function calls per row and channel) than on the nine multiply-adds.
 *
 * Layout. Channels go in groups of four. Each channel of the group keeps three expanded input
 * rows on the stack (int16, x - input_zp), stored pixel by pixel: row slot s holds image row r
 * with r = s (mod 3), halfword pl + j holding pixel j (pl = pad_left, 0 or 1); halfwords
 * outside the image stay zero, which is the padding (a padding tap contributes w * 0 in ref).
 * A 4-channel pixel word gives two channels per SXTAB16 ({c, c+2} and {c+1, c+3}), and PKHBT /
 * PKHTB of two neighbouring pixels give each channel's pixel pair, one word store each:
 * 2 LDR + 4 SXTAB16 + 4 PKH + 4 STR per two pixels of four channels.
 *
 * Windows. Output ow reads halfwords ow * s .. ow * s + 2 of the three slots. With each kernel
 * row (w0, w1, w2) laid out as Wa = {w0, w1} and Wb = {w1, w2}, two outputs per step cost:
 *  - stride 1, one LDRD {h0, h1}, {h2, h3} per slot: out0 += SMLAD(A, Wa) + SMLABT(B, Wb),
 *    out1 += SMLATB(A, Wa) + SMLAD(B, Wb): 3 LDRD + 12 multiplies for 18 MACs;
 *  - stride 2, LDRD {h0, h1}, {h2, h3} and LDR {h4, h5} per slot: out0 += SMLAD(A, Wa) + h2 w2,
 *    out1 += SMLAD(B, Wa) + h4 w2: 6 loads + 12 multiplies for 18 MACs.
 * Two pairs run per loop step. Since slots rotate with the image row, the kernel row of slot s
 * is (s - ih0) mod 3 for an output row whose window starts at image row ih0; the filter words
 * are laid out once per group with rows 0 and 1 repeated after row 2, so the rows of slots 0..2
 * are consecutive whatever the rotation. The accumulators of one output row and channel go to
 * a small buffer and are requantised right after: SMMULR form as the row engine's pass 2, or,
 * when the activation clamps at act_min >= output_zp (ReLU, ReLU6), a form two instructions
 * shorter (d3_rq1_relu); a channel whose multiplier needs no right shift (>= 0.5, as a few
 * channels of a first depthwise layer often have) takes SMMLAR and SSAT alone (d3_rq1_shift0).
 * Groups whose channels all have one of these forms (no clamping, ReLU without act_max, or
 * shift 0) run a whole output row of the four channels in one naked function a stride
 * (d3_rows), pair loop and each channel's requantisation together, about 33 instructions a row
 * and channel besides the outputs' own (the C loop around the two spent about 50).
 *
 * Cost (QEMU instruction counts, 16x16 maps, 64 channels, ReLU): 2.70 instructions per MAC at
 * stride 1 and 4.35 at stride 2 on the M7 (2.79 / 4.57 before d3_rows), against 3.75 / 6.36 for
 * the row engine. Per output at stride 1: 8.5 in the MAC loop, 9 requantising, 2 expanding, the
 * rest per row and channel. At stride 2 each output needs four new input pixels (8 to expand)
 * and 10.5 in the MAC loop, and rows are half as long, so the fixed costs per row and channel
 * weigh twice as much.
 *
 * In place (out == in) is safe: a group's outputs land only on the group's channels, and output
 * row oh (pixels < (oh + 1) * OW <= (oh + 1) * W of its batch) is written when every input row
 * up to oh * stride - pad_top + 2 >= oh + 1 is in the slots; rows still to be read start at
 * (oh + 2) * W or later. Transposed, in place needs OH == H and OW == W: output column j then
 * lands exactly on input column j, which is in the slots (expanded) before column j's outputs
 * are computed and never read from memory again.
 *
 * Exactness: every product and partial sum is an exact integer (|x - zp| <= 255, |w| <= 128,
 * 9 taps plus bias), so only the summation order differs from ref.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/dw3x3_plan.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

#if EN_HAVE_DSP

enum {
    D3_CHH = 3 * D3_ROWH,    /* halfwords per channel (three slots) */
    D3_RS = 2 * D3_ROWH      /* bytes between slots (LDRD offsets below) */
};

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP) && defined(__OPTIMIZE__)
#define D3_EXPAND_ASM 1
_Static_assert(D3_CHH * 2 == 816, "d3_expand's asm: channel rows 816 bytes apart");
#else
#define D3_EXPAND_ASM 0
#endif

static inline void d3_store(int16_t *d, int32_t v) { __builtin_memcpy(d, &v, sizeof v); }

/* Two pixels (x, x + C) of four channels to each channel's {pixel j, pixel j + 1} at d + j. */
static inline __attribute__((always_inline)) void d3_expand2(int16_t *d, const int8_t *x,
                                                             size_t C, int32_t off2) {
    const uint32_t v0 = en_read_u32(x), v1 = en_read_u32(x + C);
    const int32_t e0 = __sxtab16(off2, (int8x4_t)v0), o0 = en_sxtab16_ror8(off2, v0);
    const int32_t e1 = __sxtab16(off2, (int8x4_t)v1), o1 = en_sxtab16_ror8(off2, v1);
    d3_store(d, en_pkhbt(e0, e1));              /* channel c: lanes 0 of {c, c+2} */
    d3_store(d + D3_CHH, en_pkhbt(o0, o1));     /* c + 1 */
    d3_store(d + 2 * D3_CHH, en_pkhtb(e0, e1)); /* c + 2 */
    d3_store(d + 3 * D3_CHH, en_pkhtb(o0, o1)); /* c + 3 */
}

/* Pixels 0..W-1 of image row x (channels c0..c0+3 at x, C bytes apart) into the group's four
 * slot rows at d + k * D3_CHH (d = slot row of channel 0, plus pad_left), as x - input_zp. */
static void d3_expand(int16_t *d, const int8_t *x, size_t C, int32_t W, int32_t off2) {
    int16_t *end = d + (W & ~3);
#if D3_EXPAND_ASM
    /* four pixels per step, scheduled by hand (GCC spills the pointers): 4 LDR, 8 SXTAB16,
     * 8 PKH, 8 STR and 4 loop instructions for 16 halfwords */
    if (d < end) {
        const size_t c2 = 2 * C, c3 = 3 * C;
        int32_t v0, v1, e0, e1, t;
#define D3_EX_PAIR(X0, X1, OFF)                                                                    \
    "ldr %[v0], [%[x], " X0 "]\n\t"                                                                \
    "ldr %[v1], [%[x], " X1 "]\n\t"                                                                \
    "sxtab16 %[e0], %[off2], %[v0]\n\t"                                                           \
    "sxtab16 %[e1], %[off2], %[v1]\n\t"                                                           \
    "sxtab16 %[v0], %[off2], %[v0], ror #8\n\t"                                                   \
    "sxtab16 %[v1], %[off2], %[v1], ror #8\n\t"                                                   \
    "pkhbt %[t], %[e0], %[e1], lsl #16\n\t"                                                       \
    "str %[t], [%[d], #" OFF "]\n\t"                                                              \
    "pkhbt %[t], %[v0], %[v1], lsl #16\n\t"                                                       \
    "str %[t], [%[d], #" OFF " + 816]\n\t"                                                        \
    "pkhtb %[t], %[e1], %[e0], asr #16\n\t"                                                       \
    "str %[t], [%[d], #" OFF " + 1632]\n\t"                                                       \
    "pkhtb %[t], %[v1], %[v0], asr #16\n\t"                                                       \
    "str %[t], [%[d], #" OFF " + 2448]\n\t"
        __asm volatile(
            "1:\n\t"
            D3_EX_PAIR("#0", "%[c1]", "0")
            D3_EX_PAIR("%[c2]", "%[c3]", "4")
            "add %[x], %[x], %[c1], lsl #2\n\t"
            "adds %[d], #8\n\t"
            "cmp %[d], %[end]\n\t"
            "bne 1b\n\t"
            : [x] "+r"(x), [d] "+r"(d), [v0] "=&r"(v0), [v1] "=&r"(v1), [e0] "=&r"(e0),
              [e1] "=&r"(e1), [t] "=&r"(t)
            : [end] "r"(end), [c1] "r"(C), [c2] "r"(c2), [c3] "r"(c3), [off2] "r"(off2)
            : "memory");
#undef D3_EX_PAIR
    }
#else
    for (; d < end; d += 4, x += 4 * C) {
        d3_expand2(d, x, C, off2);
        d3_expand2(d + 2, x + 2 * C, C, off2);
    }
#endif
    if (W & 2) {
        d3_expand2(d, x, C, off2);
        d += 2, x += 2 * C;
    }
    if (W & 1) {
        const uint32_t v = en_read_u32(x);
        const int32_t e = __sxtab16(off2, (int8x4_t)v), o = en_sxtab16_ror8(off2, v);
        d[0] = (int16_t)e;
        d[D3_CHH] = (int16_t)o;
        d[2 * D3_CHH] = (int16_t)(e >> 16);
        d[3 * D3_CHH] = (int16_t)(o >> 16);
    }
}

/* Zero halfwords [from, to) of the group's four rows of one slot (d: channel 0's row), two
 * words per step between the odd ends (the padding rows above and below the image). */
static void d3_zero(int16_t *d, int32_t from, int32_t to) {
    for (int32_t k = 0; k < 4; ++k, d += D3_CHH) {
        int16_t *h = d + from, *end = d + to;
        if (h < end && (from & 1)) {
            *h++ = 0; /* slot rows start word-aligned (ring is), so h is now */
        }
        for (; h + 4 <= end; h += 4) {
            d3_store(h, 0);
            d3_store(h + 2, 0);
        }
        for (; h < end; ++h) {
            *h = 0;
        }
    }
}

/* Per channel: its filter rows as words, and the requantisation. */
typedef struct {
    /* wk[kr]: stride 1 {Wa, Wb} = {{w0, w1}, {w1, w2}}; stride 2 {Wa, w2} of kernel row kr mod
     * 3 (rows 0, 1 repeat at 3, 4), so the six words from wk[k0] hold the rows of slots 0..2,
     * kernel rows k0..k0 + 2, whatever the rotation */
    int32_t wk[5][2];
    /* d3_rows' requantisation, in this order (its assembly reads them so): b2 = 2 * bias; the
     * fast form's mult, k, r (en_rq_fold; the shift-0 form's k is output_zp); d3_rq1_relu's zr,
     * rs; act_min; the channel's form (D3_FORM_*) */
    int32_t b2, mult, k, r, zr, rs, lo, form;
    int32_t bias, shift;
    en_rq rq;
    int fast;  /* en_rq_fits and -22 <= shift <= -1: the folded SMMLAR loop below */
    int fits;  /* en_rq_apply exact for every accumulator */
} d3_chan;

/* How a channel's row is requantised in a group that runs as d3_rows (every channel has a form):
 * FAST d3_rq1 without clamping, RELU d3_rq1_relu without act_max, SHIFT0 d3_rq1_shift0 (a
 * multiplier >= 0.5: no right shift; act_min applied, -128 when nothing clamps). NONE: the group
 * requantises per output (d3_rq's kinds 3 and 5). */
enum { D3_FORM_FAST, D3_FORM_RELU, D3_FORM_SHIFT0, D3_FORM_NONE };

/* noinline: it runs once a channel and group, and inlined into d3_run it took 80 B more flash. */
__attribute__((noinline)) static void d3_chan_make(d3_chan *ch, const en_requant *q, const int8_t *w, const int32_t *bias,
                         const d3_view *v, int32_t c, int32_t stride, int clamp) {
    for (int32_t kr = 0; kr < 3; ++kr) {
        const int8_t *r = w + kr * v->w_row + c;
        const int32_t w0 = r[0], w1 = r[v->w_col], w2 = r[2 * v->w_col];
        ch->wk[kr][0] = en_pkhbt(w0, w1);
        ch->wk[kr][1] = stride == 1 ? en_pkhbt(w1, w2) : w2;
    }
    ch->wk[3][0] = ch->wk[0][0], ch->wk[3][1] = ch->wk[0][1];
    ch->wk[4][0] = ch->wk[1][0], ch->wk[4][1] = ch->wk[1][1];
    const int32_t qc = q->per_channel ? c : 0;
    ch->bias = bias != NULL ? bias[c] : 0;
    ch->b2 = (int32_t)((uint32_t)ch->bias << 1);
    ch->mult = q->mult[qc];
    ch->shift = q->shift[qc];
    ch->rq = en_rq_make(ch->mult, ch->shift, q->output_zp, q->act_min, q->act_max);
    const uint32_t bound = 9u * 255 * 128 + (ch->bias < 0 ? 0u - (uint32_t)ch->bias : (uint32_t)ch->bias);
    ch->fits = en_rq_fits(bound, ch->shift);
    ch->fast = ch->fits && ch->shift < 0 && ch->shift >= -22; /* en_rq_fold_ok, spelled out: GCC 12
                                                                 * inlines d3_run worse around a call */
    ch->r = -ch->shift;
    ch->k = ch->fast ? en_rq_fold_k(ch->rq.zp2, ch->shift) : 0;
    /* d3_rq1_relu adds zr to t (|t| < 2^30 when fits): with |zp2| <= 255 and rs <= 21 (fast),
     * |zr| < 2^29 */
    ch->zr = ch->fast ? (int32_t)((uint32_t)ch->rq.zp2 << ch->rq.rshift) : 0;
    ch->rs = ch->rq.rshift;
    ch->lo = ch->rq.act_min;
    const int relu = clamp == 1 && q->act_min >= q->output_zp;
    if (ch->fast && clamp == 0) {
        ch->form = D3_FORM_FAST;
    } else if (ch->fast && relu) {
        ch->form = D3_FORM_RELU;
    } else if (ch->fits && ch->shift == 0 && clamp < 2) {
        ch->form = D3_FORM_SHIFT0;
        ch->k = q->output_zp;
    } else {
        ch->form = D3_FORM_NONE;
    }
}

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP) && defined(__OPTIMIZE__)
#define D3_ASM 1
/* The pair loops scheduled by hand (13 registers live; GCC splits the LDRDs and spills), as text
 * over register names: the inline forms below name operands (%[a0]), d3_rows' naked functions
 * registers (r11). X: slot 0's row of the channel (slots D3_RS bytes apart); ACC advances by two
 * per pair. */
/* Slot offsets in bytes after slot 0's post-increment (4 at stride 1, 8 at stride 2), as
 * literals for the asm; checked against D3_RS below. */
#define D3_S1_OFF1 268 /* D3_RS - 4 */
#define D3_S1_OFF2 540 /* 2 * D3_RS - 4 */
#define D3_S2_OFF1 264 /* D3_RS - 8 */
#define D3_S2_OFF2 536 /* 2 * D3_RS - 8 */
#define D3_RS_1 272    /* D3_RS */
#define D3_RS_2 544    /* 2 * D3_RS */
_Static_assert(D3_S1_OFF1 == D3_RS - 4 && D3_S1_OFF2 == 2 * D3_RS - 4 && D3_S2_OFF1 == D3_RS - 8 &&
                   D3_S2_OFF2 == 2 * D3_RS - 8 && D3_RS_1 == D3_RS && D3_RS_2 == 2 * D3_RS,
               "asm slot offsets");
#define D3_STR(v) #v
#define D3_XSTR(v) D3_STR(v)

/* Stride 1, slots 1 and 2: out0 += SMLAD(A, Wa) + SMLABT(B, Wb), out1 += SMLATB(A, Wa) +
 * SMLAD(B, Wb). */
#define D3_S1_SLOT(X, OFF, A0, A1, A, B, WA, WB)                                                   \
    "ldrd " A ", " B ", [" X ", #" OFF "]\n\t"                                                     \
    "smlad " A0 ", " A ", " WA ", " A0 "\n\t"                                                      \
    "smlatb " A1 ", " A ", " WA ", " A1 "\n\t"                                                     \
    "smlabt " A0 ", " B ", " WB ", " A0 "\n\t"                                                     \
    "smlad " A1 ", " B ", " WB ", " A1 "\n\t"
/* One stride-1 pair: slot 0 with post-increment (X then points 4 bytes on: slot offsets minus
 * 4). */
#define D3_S1_PAIR(X, ACC, A0, A1, A, B, WA0, WB0, WA1, WB1, WA2, WB2)                             \
    "ldrd " A ", " B ", [" X "], #4\n\t"                                                           \
    "smuad " A0 ", " A ", " WA0 "\n\t"                                                             \
    "smultb " A1 ", " A ", " WA0 "\n\t"                                                            \
    "smlabt " A0 ", " B ", " WB0 ", " A0 "\n\t"                                                    \
    "smlad " A1 ", " B ", " WB0 ", " A1 "\n\t"                                                     \
    D3_S1_SLOT(X, D3_XSTR(D3_S1_OFF1), A0, A1, A, B, WA1, WB1)                                     \
    D3_S1_SLOT(X, D3_XSTR(D3_S1_OFF2), A0, A1, A, B, WA2, WB2)                                     \
    "strd " A0 ", " A1 ", [" ACC "], #8\n\t"

/* Stride 2, one slot at byte offsets OFF ({h0, h1}, {h2, h3}) and OFFC ({h4, h5}): out0 +=
 * SMLAD(A, Wa) + h2 w2, out1 += SMLAD(B, Wa) + h4 w2 (W2MUL picks w2's half). */
#define D3_S2_SLOT(X, OFF, OFFC, A0, A1, A, B, C, WA, W2, W2MUL)                                   \
    "ldrd " A ", " B ", [" X ", #" OFF "]\n\t"                                                     \
    "ldr " C ", [" X ", #" OFFC "]\n\t"                                                            \
    "smlad " A0 ", " A ", " WA ", " A0 "\n\t"                                                      \
    "smlad " A1 ", " B ", " WA ", " A1 "\n\t"                                                      \
    W2MUL " " A0 ", " B ", " W2 ", " A0 "\n\t"                                                     \
    W2MUL " " A1 ", " C ", " W2 ", " A1 "\n\t"
/* One stride-2 pair: slot 0 with post-increment (X then points 8 bytes on: {h4, h5} at offset
 * 0). W2: {w2 of slot 0, w2 of slot 1}; W2C: w2 of slot 2. */
#define D3_S2_PAIR(X, ACC, A0, A1, A, B, C, WA0, WA1, WA2, W2, W2C)                                \
    "ldrd " A ", " B ", [" X "], #8\n\t"                                                           \
    "ldr " C ", [" X "]\n\t"                                                                       \
    "smuad " A0 ", " A ", " WA0 "\n\t"                                                             \
    "smuad " A1 ", " B ", " WA0 "\n\t"                                                             \
    "smlabb " A0 ", " B ", " W2 ", " A0 "\n\t"                                                     \
    "smlabb " A1 ", " C ", " W2 ", " A1 "\n\t"                                                     \
    D3_S2_SLOT(X, D3_XSTR(D3_S2_OFF1), D3_XSTR(D3_RS_1), A0, A1, A, B, C, WA1, W2, "smlabt")      \
    D3_S2_SLOT(X, D3_XSTR(D3_S2_OFF2), D3_XSTR(D3_RS_2), A0, A1, A, B, C, WA2, W2C, "smlabb")     \
    "strd " A0 ", " A1 ", [" ACC "], #8\n\t"

#define D3_S1_PAIR_OPS                                                                             \
    D3_S1_PAIR("%[x]", "%[acc]", "%[a0]", "%[a1]", "%[A]", "%[B]", "%[wa0]", "%[wb0]", "%[wa1]",   \
               "%[wb1]", "%[wa2]", "%[wb2]")
#define D3_S2_PAIR_OPS                                                                             \
    D3_S2_PAIR("%[x]", "%[acc]", "%[a0]", "%[a1]", "%[A]", "%[B]", "%[C]", "%[wa0]", "%[wa1]",     \
               "%[wa2]", "%[w2]", "%[w2c]")

static inline __attribute__((always_inline)) void
d3_acc_s1(const int16_t *x, int32_t wa0, int32_t wb0, int32_t wa1, int32_t wb1, int32_t wa2,
          int32_t wb2, int32_t *acc, int32_t *end) {
    int32_t a0, a1, A, B;
    __asm volatile(
        /* two pairs per step; an odd count enters at the second */
        "sub %[A], %[end], %[acc]\n\t"
        "tst %[A], #8\n\t"
        "bne 2f\n\t"
        "1:\n\t" D3_S1_PAIR_OPS "2:\n\t" D3_S1_PAIR_OPS
        "cmp %[acc], %[end]\n\t"
        "bne 1b\n\t"
        : [x] "+r"(x), [acc] "+r"(acc), [a0] "=&r"(a0), [a1] "=&r"(a1), [A] "=&r"(A),
          [B] "=&r"(B)
        : [wa0] "r"(wa0), [wb0] "r"(wb0), [wa1] "r"(wa1), [wb1] "r"(wb1), [wa2] "r"(wa2),
          [wb2] "r"(wb2), [end] "r"(end)
        : "cc", "memory");
}

static inline __attribute__((always_inline)) void
d3_acc_s2(const int16_t *x, int32_t wa0, int32_t wa1, int32_t wa2, int32_t w2, int32_t w2c,
          int32_t *acc, int32_t *end) {
    int32_t a0, a1, A, B, C;
    __asm volatile(
        "sub %[A], %[end], %[acc]\n\t" /* as d3_acc_s1 */
        "tst %[A], #8\n\t"
        "bne 2f\n\t"
        "1:\n\t" D3_S2_PAIR_OPS "2:\n\t" D3_S2_PAIR_OPS
        "cmp %[acc], %[end]\n\t"
        "bne 1b\n\t"
        : [x] "+r"(x), [acc] "+r"(acc), [a0] "=&r"(a0), [a1] "=&r"(a1), [A] "=&r"(A),
          [B] "=&r"(B), [C] "=&r"(C)
        : [wa0] "r"(wa0), [wa1] "r"(wa1), [wa2] "r"(wa2), [w2] "r"(w2), [w2c] "r"(w2c),
          [end] "r"(end)
        : "cc", "memory");
}
#else
/* Portable form of the same sums (host emulation, -O0): halves of the filter words. */
static inline int32_t d3_lo(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v & 0xFFFFu); }
static inline int32_t d3_hi(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v >> 16); }

static void d3_acc_s1(const int16_t *x, int32_t wa0, int32_t wb0, int32_t wa1, int32_t wb1,
                      int32_t wa2, int32_t wb2, int32_t *acc, int32_t *end) {
    const int32_t wl[6] = {wa0, wb0, wa1, wb1, wa2, wb2};
    for (int32_t i = 0; acc + i < end; ++i) {
        int32_t a = 0;
        for (int32_t s = 0; s < 3; ++s) {
            const int16_t *h = x + s * D3_ROWH + i;
            const int32_t wa = wl[2 * s], wb = wl[2 * s + 1];
            a += h[0] * d3_lo(wa) + h[1] * d3_hi(wa) + h[2] * d3_hi(wb);
        }
        acc[i] = a;
    }
}

static void d3_acc_s2(const int16_t *x, int32_t wa0, int32_t wa1, int32_t wa2, int32_t w2p,
                      int32_t w2c, int32_t *acc, int32_t *end) {
    const int32_t wl[5] = {wa0, wa1, wa2, w2p, w2c};
    const int32_t w2[3] = {d3_lo(wl[3]), d3_hi(wl[3]), d3_lo(wl[4])};
    for (int32_t i = 0; acc + i < end; ++i) {
        int32_t a = 0;
        for (int32_t s = 0; s < 3; ++s) {
            const int16_t *h = x + s * D3_ROWH + 2 * i;
            a += h[0] * d3_lo(wl[s]) + h[1] * d3_hi(wl[s]) + h[2] * w2[s];
        }
        acc[i] = a;
    }
}
#endif

/* One output in en_rq_fold's form: s = (acc << 1) + 2 * bias is one ADD, SMMLAR adds k (the
 * output zero point and the rounding folded), then s's sign, ASR by r, SSAT to int8; `clamp` 1
 * applies act_min, 2 both bounds. */
static inline __attribute__((always_inline)) int32_t
d3_rq1(int32_t a, int32_t m, int32_t r, int32_t k, int32_t b2, int32_t lo, int32_t hi, int clamp) {
    const int32_t s = (int32_t)(((uint32_t)a << 1) + (uint32_t)b2);
    int32_t v = en_ssat8(en_rq_fold_doubled(s, m, k, r));
    if (clamp) {
        v = en_max16x2(v, lo);
    }
    if (clamp == 2) {
        v = en_min16x2(v, hi);
    }
    return v;
}

/* One output of a channel whose multiplier needs no right shift (shift 0): TFLite's
 * SaturatingRoundingDoublingHighMul plus output_zp is SMMLAR of s = 2 * (acc + bias) with the
 * zero point as accumulator (en_smmulr's doubling; s fits, en_rq_fits), no rounding divide, so
 * no sign correction; then SSAT and act_min. */
static inline __attribute__((always_inline)) int32_t
d3_rq1_shift0(int32_t a, int32_t m, int32_t zp, int32_t b2, int32_t lo) {
    const int32_t s = (int32_t)(((uint32_t)a << 1) + (uint32_t)b2);
    return en_max16x2(en_ssat8(en_smmlar(s, m, zp)), lo);
}

typedef uint64_t d3_w64 __attribute__((may_alias, aligned(8)));

#ifndef D3_ASM
#define D3_ASM 0
#endif

/* d3_rq1 when the activation clamps below at act_min >= output_zp (ReLU, ReLU6), two
 * instructions shorter. With t = SMMULR(2 * acc + 2 * bias, m), d3_rq1 computes
 * (((t + (t >> 31)) >> rs) + zp2) >> 1. For t >= 0 the correction t >> 31 is 0, and adding
 * zp2 << rs before the shift (SMMLAR, zr = zp2 << rs) is the same as adding zp2 after it
 * (exact: floor((t + k 2^rs) / 2^rs) = floor(t / 2^rs) + k). For t < 0 both forms give at
 * most output_zp (the exact one rounds a negative value to <= 0; this one floors t >> rs
 * <= -1, then (zp2 - 1) >> 1 = zp), so act_min >= output_zp clamps both to act_min. No
 * overflow: |t| < 2^30 (en_rq_fits) and |zr| < 2^30 (d3_chan_make). */
static inline __attribute__((always_inline)) int32_t
d3_rq1_relu(int32_t a, int32_t m, int32_t rs, int32_t zr, int32_t b2, int32_t lo, int32_t hi,
            int clamp_hi) {
    const int32_t u = en_smmlar((int32_t)(((uint32_t)a << 1) + (uint32_t)b2), m, zr);
    int32_t v = en_max16x2(en_ssat8((u >> rs) >> 1), lo);
    if (clamp_hi) {
        v = en_min16x2(v, hi);
    }
    return v;
}

static inline __attribute__((always_inline)) void
d3_rq_relu(const d3_chan *k, const int32_t *acc, int32_t n, int8_t *y, size_t ystep,
           int clamp_hi) {
    const int32_t m = k->mult, rs = k->rs, zr = k->zr, b2 = k->b2;
    const int32_t lo = k->lo, hi = k->rq.act_max;
    const int32_t *end = acc + (n & ~1);
    for (; acc < end; acc += 2, y += 2 * ystep) {
        const uint64_t a2 = *(const d3_w64 *)(const void *)acc;
        const int32_t v0 = d3_rq1_relu((int32_t)(uint32_t)a2, m, rs, zr, b2, lo, hi, clamp_hi);
        const int32_t v1 = d3_rq1_relu((int32_t)(uint32_t)(a2 >> 32), m, rs, zr, b2, lo, hi,
                                       clamp_hi);
        y[0] = (int8_t)v0;
        y[ystep] = (int8_t)v1;
    }
    if (n & 1) {
        *y = (int8_t)d3_rq1_relu(*acc, m, rs, zr, b2, lo, hi, clamp_hi);
    }
}

/* Requantise n accumulators of one channel (acc: 8-byte aligned) to y[i * ystep], two per step
 * (one LDRD). */
static inline __attribute__((always_inline)) void
d3_rq_fast(const d3_chan *k, const int32_t *acc, int32_t n, int8_t *y, size_t ystep, int clamp) {
    const int32_t m = k->mult, r = k->r, kk = k->k, b2 = k->b2;
    const int32_t lo = k->lo, hi = k->rq.act_max;
    const int32_t *end = acc + (n & ~1);
    for (; acc < end; acc += 2, y += 2 * ystep) {
        const uint64_t a2 = *(const d3_w64 *)(const void *)acc;
        const int32_t v0 = d3_rq1((int32_t)(uint32_t)a2, m, r, kk, b2, lo, hi, clamp);
        const int32_t v1 = d3_rq1((int32_t)(uint32_t)(a2 >> 32), m, r, kk, b2, lo, hi, clamp);
        y[0] = (int8_t)v0;
        y[ystep] = (int8_t)v1;
    }
    if (n & 1) {
        *y = (int8_t)d3_rq1(*acc, m, r, kk, b2, lo, hi, clamp);
    }
}

/* Requantise one output row of one channel: `kind` 0 the channel's form (D3_FORM_*), 5
 * d3_rq_relu with act_max, 3 any requantisation (per output; also clamps below output_zp, which
 * TFLite's activations never produce). */
static void d3_rq(const d3_chan *k, const en_requant *q, const int32_t *acc, int32_t n, int8_t *y,
                  size_t ystep, int kind) {
    if (kind == 5) {
        d3_rq_relu(k, acc, n, y, ystep, 1);
    } else if (!D3_ASM && kind == 0) { /* with the assembly, kind 0 runs as d3_rows */
        if (k->form == D3_FORM_RELU) {
            d3_rq_relu(k, acc, n, y, ystep, 0);
        } else if (k->form == D3_FORM_FAST) {
            d3_rq_fast(k, acc, n, y, ystep, 0);
        } else {
            for (int32_t i = 0; i < n; ++i, y += ystep) {
                *y = (int8_t)d3_rq1_shift0(acc[i], k->mult, k->k, k->b2, k->lo);
            }
        }
    } else {
        for (int32_t i = 0; i < n; ++i, y += ystep) {
            const int32_t a = acc[i] + k->bias;
            *y = k->fits ? en_rq_apply(&k->rq, a)
                         : en_requant_fast(a, k->mult, k->shift, q->output_zp, q->act_min,
                                           q->act_max);
        }
    }
}

/* What every output row of the call shares. */
typedef struct {
    const en_requant *q;
    int32_t *acc;    /* 8-byte aligned, 2 * pairs entries */
    int32_t pairs;   /* output pairs per row: (OW + 1) / 2 */
    int32_t ow;
    int32_t stride;
    int kind;        /* d3_rq's loop: 0 each channel's form (d3_rows), 3 or 5 */
    size_t c;        /* output pixel stride (bytes) */
} d3_ctx;

/* One output row of the group's four channels: channel k's slot rows at x + k * D3_CHH
 * (D3_ROWH apart) holding kernel rows k0, k0 + 1, k0 + 2 (mod 3), its outputs at y[k + i * C].
 * `stride` is a constant in the instances below. */
static inline __attribute__((always_inline)) void
d3_group_row_body(const d3_ctx *cx, const d3_chan *ch, const int16_t *x, int32_t k0, int8_t *y,
                  int32_t stride, int kind) {
    int32_t *acc = cx->acc, *end = acc + 2 * cx->pairs;
    const int32_t n = cx->ow;
    const size_t ystep = cx->c;
    for (const d3_chan *ch_end = ch + 4; ch < ch_end; ++ch, ++y, x += D3_CHH) {
        const int32_t(*wk)[2] = ch->wk + k0;
        if (stride == 1) {
            d3_acc_s1(x, wk[0][0], wk[0][1], wk[1][0], wk[1][1], wk[2][0], wk[2][1], acc, end);
        } else {
            d3_acc_s2(x, wk[0][0], wk[1][0], wk[2][0], en_pkhbt(wk[0][1], wk[1][1]), wk[2][1], acc,
                      end);
        }
        d3_rq(ch, cx->q, acc, n, y, ystep, kind);
    }
}

#if D3_ASM
/* d3_rows: one output row of the group's four channels in one naked function (kind 0: every
 * channel has a form): per channel the stride's pair loop, then the requantisation of the row's
 * accumulators in the channel's form, with every register free (the C loop around the two
 * spent ~50 instructions a row and channel reloading and spilling its state; this ~31). One
 * function serves both strides (the channel loop's end branches to the stride's pair loops)
 * and every form, as a function a stride took 330 more bytes of flash. The assembly reads the
 * run at these byte offsets and moves x, k, q and y on to the next channel itself: x 0, k 4,
 * q 8, y 12, acc 16, end 20, ys 24, n 28, pairs_end 32, count 36. */
typedef struct {
    const int16_t *x; /* channel 0's slot 0 row (the next channel's D3_CHH halfwords on) */
    const int32_t *k; /* channel 0's wk[k0] (the next channel's one d3_chan on) */
    const int32_t *q; /* channel 0's b2, mult, k, r, zr, rs, lo, form */
    int8_t *y;        /* channel 0's first output (the next channel's one byte on) */
    int32_t *acc, *end; /* the pair loop's accumulators, two a pair (8-byte aligned) */
    size_t ys;        /* bytes from one output to the next */
    int32_t n;        /* outputs in the row (<= 2 * pairs) */
    int32_t *pairs_end; /* acc + (n & ~1): the requantisation's pairs end here */
    int32_t count;    /* the channels, 4 at stride 1, INT32_MIN + 3 at stride 2 (D3_ROWS_COUNT) */
} d3_rows_run;

/* The run's count: the channel loop's SUBS leaves stride 1's 3..1 positive (GT), stride 2's
 * INT32_MIN + 2..INT32_MIN negative (MI), and neither after the fourth channel (0; INT32_MAX
 * with overflow). */
#define D3_ROWS_COUNT(s) ((s) == 1 ? 4 : INT32_MIN + 3)

_Static_assert(offsetof(d3_chan, b2) == 40 && offsetof(d3_chan, form) == 68 &&
                   sizeof(d3_chan) == 112 && offsetof(d3_rows_run, acc) == 16 &&
                   offsetof(d3_rows_run, ys) == 24 && offsetof(d3_rows_run, n) == 28 &&
                   offsetof(d3_rows_run, pairs_end) == 32 &&
                   offsetof(d3_rows_run, count) == 36 &&
                   D3_FORM_FAST == 0 && D3_FORM_RELU == 1 && D3_FORM_SHIFT0 == 2,
               "d3_rows' offsets");

/* The channel loop (lr counts the channels): the stride's pair loops (D3_ROWS_PAIRS), then
 * the requantisation of the channel's form K: RQSET_K (the constants from r0 = q), RQ2_K /
 * RQ1_K (r11, r12 to int8 in r11, r12; r0 free). */
#define D3_ROWS_RQ(K, DONE)                                                                        \
    D3_ROWS_RQSET_##K                                                                              \
    "cmp r1, r10\n\t"                                                                              \
    "beq 5" #K "f\n"                                                                               \
    "4" #K ":\n\t"                                                                                 \
    "ldrd r11, r12, [r1], #8\n\t"                                                                  \
    D3_ROWS_RQ2_##K                                                                                \
    "strb r11, [r7]\n\t"                                                                           \
    "strb r12, [r7, r8]\n\t"                                                                       \
    "add r7, r7, r8, lsl #1\n\t"                                                                   \
    "cmp r1, r10\n\t"                                                                              \
    "bne 4" #K "b\n"                                                                               \
    "5" #K ":\n\t"                                                                                 \
    "tst r9, #1\n\t"                                                                               \
    "beq 6f\n\t"                                                                                   \
    "ldr r11, [r1]\n\t"                                                                            \
    D3_ROWS_RQ1_##K                                                                                \
    "strb r11, [r7]\n\t"                                                                           \
    DONE
/* One stride's pair loops: LOADW (the filter words from r3 = k), then PAIR (r0 = x, r1 = acc to
 * r2 = end) twice a step, an odd number of pairs entering at the second (labels A and B). */
#define D3_ROWS_PAIRS(LOADW, PAIR, A, B)                                                           \
    LOADW                                                                                          \
    "sub r12, r2, r1\n\t"                                                                          \
    "tst r12, #8\n\t"                                                                              \
    "bne " #B "f\n"                                                                                \
    #A ":\n\t" PAIR #B ":\n\t" PAIR                                                                \
    "cmp r1, r2\n\t"                                                                               \
    "bne " #A "b\n\t"
#define D3_ROWS_ASM                                                                                \
    "push {r0, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t" /* the run at [sp] */                    \
    "ldr lr, [r0, #36]\n\t" /* the channels left, with the stride in the sign */                   \
    "ldrd r1, r2, [r0, #16]\n\t"                                                                   \
    "ldr r3, [r0, #4]\n\t"                                                                         \
    "ldr r0, [r0]\n\t"                                                                             \
    "cmp lr, #4\n\t"                                                                               \
    "bne 9f\n"                                                                                     \
    "1:\n\t"                                                                                       \
    D3_ROWS_PAIRS(D3_ROWS_LOADW_S1, D3_ROWS_PAIR_S1, 2, 3)                                         \
    "b 10f\n" /* stride 2 (the slower, whose fixed costs weigh twice) without a branch */          \
    "9:\n\t"                                                                                       \
    D3_ROWS_PAIRS(D3_ROWS_LOADW_S2, D3_ROWS_PAIR_S2, 12, 13)                                       \
    "10:\n\t"                                                                                      \
    "ldr r12, [sp]\n\t"                                                                            \
    "ldrd r0, r7, [r12, #8]\n\t" /* q, y */                                                        \
    "ldr r1, [r12, #16]\n\t" /* acc */                                                             \
    "add r10, r12, #24\n\t"                                                                        \
    "ldm r10, {r8, r9, r10}\n\t" /* ys, n, pairs_end */                                            \
    "ldr r12, [r0, #28]\n\t" /* the form; ReLU (the usual one) last, without a branch */           \
    "cmp r12, #1\n\t"                                                                              \
    "beq 8f\n\t"                                                                                   \
    "bhi 7f\n\t"                                                                                   \
    D3_ROWS_RQ(0, "b 6f\n")                                                                        \
    "7:\n\t"                                                                                       \
    D3_ROWS_RQ(2, "b 6f\n")                                                                        \
    "8:\n\t"                                                                                       \
    D3_ROWS_RQ(1, "")                                                                              \
    "6:\n\t"                                                                                       \
    "ldr r12, [sp]\n\t" /* the next channel: x r0, k r3 for the pair loops */                      \
    "ldm r12, {r0, r3, r7, r8}\n\t"                                                                \
    "add r0, r0, #816\n\t"                                                                         \
    "add r3, r3, #112\n\t"                                                                         \
    "add r7, r7, #112\n\t"                                                                         \
    "add r8, r8, #1\n\t"                                                                           \
    "stm r12, {r0, r3, r7, r8}\n\t"                                                                \
    "ldrd r1, r2, [r12, #16]\n\t"                                                                  \
    "subs lr, lr, #1\n\t" /* 4 down to 0, or INT32_MIN + 3 down to INT32_MAX */                    \
    "bmi 9b\n\t"                                                                                   \
    "bgt 1b\n\t"                                                                                   \
    "pop {r0, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"

#define D3_ROWS_LOADW_S1 "ldm r3, {r3, r4, r5, r6, r7, r8}\n\t"
#define D3_ROWS_PAIR_S1                                                                            \
    D3_S1_PAIR("r0", "r1", "r11", "r12", "r9", "r10", "r3", "r4", "r5", "r6", "r7", "r8")
/* stride 2: wa0 r3, w2 of slots 0 and 1 packed into r4, wa1 r5, wa2 r7, w2 of slot 2 r8 */
#define D3_ROWS_LOADW_S2                                                                           \
    "ldm r3, {r3, r4, r5, r6, r7, r8}\n\t"                                                         \
    "pkhbt r4, r4, r6, lsl #16\n\t"
#define D3_ROWS_PAIR_S2                                                                            \
    D3_S2_PAIR("r0", "r1", "r11", "r12", "r6", "r9", "r10", "r3", "r5", "r7", "r4", "r8")

/* Form 0 (FAST), d3_rq1 without clamping: r2 b2, r3 mult, r4 k, r5 r. */
#define D3_ROWS_RQSET_0 "ldm r0, {r2, r3, r4, r5}\n\t"
#define D3_ROWS_RQ_0(A, T)                                                                         \
    "add " A ", r2, " A ", lsl #1\n\t"                                                             \
    "smmlar " T ", " A ", r3, r4\n\t"                                                              \
    "add " T ", " T ", " A ", asr #31\n\t"                                                         \
    "asr " T ", " T ", r5\n\t"                                                                     \
    "ssat " A ", #8, " T "\n\t"
#define D3_ROWS_RQ1_0 D3_ROWS_RQ_0("r11", "r6")
#define D3_ROWS_RQ2_0 D3_ROWS_RQ_0("r11", "r6") D3_ROWS_RQ_0("r12", "r0")

/* Form 1 (RELU), d3_rq1_relu: r2 b2, r3 mult, r4 zr, r5 rs, r6 act_min. */
#define D3_ROWS_RQSET_1                                                                            \
    "ldrd r2, r3, [r0]\n\t"                                                                        \
    "add r0, r0, #16\n\t"                                                                          \
    "ldm r0, {r4, r5, r6}\n\t"
#define D3_ROWS_RQ_1(A)                                                                            \
    "add " A ", r2, " A ", lsl #1\n\t"                                                             \
    "smmlar " A ", " A ", r3, r4\n\t"                                                              \
    "asr " A ", " A ", r5\n\t"                                                                     \
    "ssat " A ", #8, " A ", asr #1\n\t"                                                            \
    "ssub16 r0, " A ", r6\n\t"                                                                     \
    "sel " A ", " A ", r6\n\t"
#define D3_ROWS_RQ1_1 D3_ROWS_RQ_1("r11")
#define D3_ROWS_RQ2_1 D3_ROWS_RQ_1("r11") D3_ROWS_RQ_1("r12")

/* Form 2 (SHIFT0), d3_rq1_shift0: r2 b2, r3 mult, r4 output_zp (the k slot), r6 act_min. */
#define D3_ROWS_RQSET_2                                                                            \
    "ldm r0, {r2, r3, r4}\n\t"                                                                     \
    "ldr r6, [r0, #24]\n\t"
#define D3_ROWS_RQ_2(A)                                                                            \
    "add " A ", r2, " A ", lsl #1\n\t"                                                             \
    "smmlar " A ", " A ", r3, r4\n\t"                                                              \
    "ssat " A ", #8, " A "\n\t"                                                                    \
    "ssub16 r0, " A ", r6\n\t"                                                                     \
    "sel " A ", " A ", r6\n\t"
#define D3_ROWS_RQ1_2 D3_ROWS_RQ_2("r11")
#define D3_ROWS_RQ2_2 D3_ROWS_RQ_2("r11") D3_ROWS_RQ_2("r12")

__attribute__((naked, noinline)) static void d3_rows(d3_rows_run *run) {
    (void)run; /* in r0 */
    __asm volatile(D3_ROWS_ASM);
}
#endif

/* Not inlined: the caller's loops keep their registers and this gets its own (the asm needs
 * 13). */
__attribute__((noinline)) static void d3_group_row(const d3_ctx *cx, const d3_chan *ch,
                                                   const int16_t *x, int32_t k0, int8_t *y) {
#if D3_ASM /* kinds 3 and 5 only: kind 0 runs as d3_rows */
    d3_group_row_body(cx, ch, x, k0, y, cx->stride, cx->kind);
#else
    if (cx->stride == 1) {
        d3_group_row_body(cx, ch, x, k0, y, 1, cx->kind);
    } else {
        d3_group_row_body(cx, ch, x, k0, y, 2, cx->kind);
    }
#endif
}

/* noinline: its ~4.4 KB of stack (slots, accumulators, channel state) must not stay on the
 * frame that falls back to en_dwconv2d_s8 (whose row engine takes ~5.3 KB). */
__attribute__((noinline)) static void
d3_run(const d3_view *v, int32_t s, const en_requant *q, const en_dims *in_dims, const int8_t *in,
       const int8_t *w, const int32_t *bias, const en_dims *out_dims, int8_t *out) {
    int16_t ring[4 * D3_CHH] __attribute__((aligned(8)));
    int32_t acc[D3_ROWH] __attribute__((aligned(8)));
    d3_chan chan[4];
    const int32_t C = in_dims->c, H = v->h, W = v->w, OH = v->oh, OW = v->ow;
    const int32_t pt = v->pt, pl = v->pl;
    const int32_t offset = -q->input_zp;
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    const int32_t pairs = (OW + 1) / 2; /* output pairs per row (an odd OW computes one more) */
    /* halfwords of a slot row the pair loops read: up to 2 * pairs + 1 (stride 1) or
     * 4 * pairs + 1 (stride 2); d3_plan keeps them inside D3_ROWH. Those outside the image
     * (padding) are zeroed once: expansion only writes [pl, pl + W). */
    const int32_t row_end = s == 1 ? 2 * pairs + 2 : 4 * pairs + 2;
    const int clamp = q->act_max < EN_INT8_MAX ? 2 : (q->act_min > EN_INT8_MIN ? 1 : 0);
    const size_t in_image = (size_t)in_dims->h * in_dims->w * C;
    const size_t out_image = (size_t)out_dims->h * out_dims->w * C;
    d3_ctx cx = {q, acc, pairs, OW, s, clamp, v->out_px};
    for (int32_t slot = 0; slot < 3; ++slot) {
        d3_zero(ring + slot * D3_ROWH, 0, pl);
        d3_zero(ring + slot * D3_ROWH, pl + W, row_end);
    }
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        int relu = clamp == 2 && q->act_min >= q->output_zp, formed = 1;
        for (int32_t k = 0; k < 4; ++k) {
            d3_chan_make(&chan[k], q, w, bias, v, c0 + k, s, clamp);
            formed = formed && chan[k].form != D3_FORM_NONE;
            relu = relu && chan[k].fast;
        }
        cx.kind = formed ? 0 : (relu ? 5 : 3);
#if D3_ASM
#endif
        for (int32_t b = 0; b < in_dims->n; ++b) {
            const int8_t *ib = in + (size_t)b * in_image + c0;
            int8_t *ob = out + (size_t)b * out_image + c0;
            /* image row r lives in slot (r + 3) mod 3; `next` is the first row not yet there,
             * `slot` its slot, k0 the kernel row of slot 0 for the current output row */
            int32_t next = -pt, slot = (3 - pt) % 3, k0 = pt;
            for (int32_t oh = 0; oh < OH; ++oh, ob += v->out_row) {
                const int32_t ih0 = oh * s - pt;
                for (; next < ih0 + 3; ++next) {
                    int16_t *d = ring + slot * D3_ROWH;
                    if (next >= 0 && next < H) {
                        d3_expand(d + pl, ib + (size_t)next * v->in_row, v->in_px, W, off2);
                    } else {
                        d3_zero(d, pl, pl + W);
                    }
                    slot = slot == 2 ? 0 : slot + 1;
                }
#if D3_ASM
                if (cx.kind == 0) {
                    d3_rows_run run = {ring, chan[0].wk[k0], &chan[0].b2, ob, acc, acc + 2 * pairs,
                                       v->out_px, OW, acc + (OW & ~1), D3_ROWS_COUNT(s)};
                    d3_rows(&run);
                } else
#endif
                {
                    d3_group_row(&cx, chan, ring, k0, ob);
                }
                /* next output row: its window starts s rows lower, so slot 0 holds the kernel
                 * row s less (mod 3) */
                k0 -= s;
                k0 = k0 < 0 ? k0 + 3 : k0;
            }
        }
    }
}
#endif

en_status en_dwconv2d_3x3_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                             const int8_t *in, const en_dims *w_dims, const int8_t *w,
                             const int32_t *bias, const en_dims *out_dims, int8_t *out,
                             void *scratch) {
#if EN_HAVE_DSP
    d3_view v;
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) == EN_OK &&
        d3_plan(p, in_dims, w_dims, out_dims, out == in, &v)) {
        d3_run(&v, p->stride_h, q, in_dims, in, w, bias, out_dims, out);
        return EN_OK;
    }
    (void)scratch;
    return EN_ERR_ARG;
#else
    return en_dwconv2d_3x3_other(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
#endif
}
