/* ARMv7E-M small-map depthwise convolution (internal/dw_small.h): same contract and results as
 * ref/dwconv2d_s8.c, for the calls en_dw_small takes.
 *
 * Four channels at a time. The group's input, padded out to every window's extent, is expanded
 * once into int16 pairs on the stack, {x c, x c+2} and {x c+1, x c+3} per pixel with the input
 * offset added and padding as zeros, so every window is whole and needs no bounds: per tap one
 * LDRD of the pixel's pairs, one LDRD of the filter's and four SMLAxy for four MACs (3x3 windows
 * unrolled; rows of 5 and 7 taps unrolled inside a loop of rows, 6 instructions a tap; others
 * as loops of taps and rows inside one assembly block, 9 a tap). The four sums of a
 * pixel are requantised together (the folded SMMLAR form of requant_fast.h when the four
 * channels' bounds allow it, else the exact form), clamped as four lanes and stored as one word:
 * no per-row or per-channel pass, which is what the row engine and the direct strategy pay on a
 * 3x3, 5x5 or 7x7 map. About 3.4 KB of code on the M7.
 *
 * Calls taken (small_takes): undilated, a channel count that is a multiple of 4, a padded plane
 * of up to SMALL_PIXELS pixels (22x22: 3.8 KB of stack; a 4.7 KB frame, under the 5 KB of the
 * row engine that every firmware linking this strategy links too), windows mostly over the input
 * (a 3x3 SAME window on a 2x2 map stays with the direct strategy, which skips the padding taps),
 * and of the shapes
 * that gain here: 3x3 (any stride) on at most SMALL_OUTPUTS output pixels, 5x5 and 7x7 (any
 * stride), Kx1 of 5 taps and more on planes up to KX1_PIXELS (run transposed). Measured on the M7: the latency table's
 * MBConv blocks with 3x3 windows on 3x3 to 7x7 maps 10-22 % faster; kernel-server calls with
 * 5x5 and 7x7 windows on 4x4 to 16x16 maps 3-45 % fewer instructions than in the row engine or
 * the direct strategy (7x7 stride 1 on 10x10: 3.05 -> 2.11 per MAC; stride 2 on 16x16: 4.29 ->
 * 2.36), 5x1 on 13x5 7.31 -> 5.82.
 * In place is safe: a group's plane is copied before any of its outputs is written, and an
 * output overwrites only the group's own channel bytes of its batch (OH * OW <= H * W).
 * Exactness: products and sums are exact integers (bound as ref), requantisation as
 * requant_fast.h.
 */
#include <stddef.h>

#include "internal/dot_arm.h"
#include "internal/dw_small.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

#if EN_HAVE_DSP
#define SMALL_AI static inline __attribute__((always_inline))

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
#define SMALL_ASM 1 /* the ARMv7E-M instructions themselves, not the host emulation */
#else
#define SMALL_ASM 0
#endif

enum {
    SMALL_PIXELS = 484, /* padded plane pixels: two words each, 3.8 KB of stack */
    SMALL_TAPS = 64,    /* filter taps: two words each */
    SMALL_OUTPUTS = 64, /* output pixels of 3x3 windows (see small_takes) */
    KX1_PIXELS = 256    /* plane pixels of Kx1 windows (see small_takes) */
};

/* The requantisation of a group of four channels. */
typedef struct {
    int32_t init[4];           /* the sums' initial values: the bias */
    int32_t mult[4], shift[4]; /* exact form */
    int32_t fold[14];          /* folded form: mult, k, r per channel, k = (2 * output_zp + 1)
                                  << (r - 1) and r = -shift; then act_min, act_max in each of
                                  four int8 lanes (byte offsets 0, 12, 24, 36 and 48) */
    int fast;                  /* the folded form is exact for all four channels */
} small_rq;

static void small_rq_make(small_rq *r, const en_requant *q, const int32_t *bias, int32_t c0) {
    int fast = 1;
    for (int32_t j = 0; j < 4; ++j) {
        const int32_t qc = q->per_channel ? c0 + j : 0;
        const int32_t b = bias != NULL ? bias[c0 + j] : 0;
        r->init[j] = b;
        r->mult[j] = q->mult[qc];
        r->shift[j] = q->shift[qc];
        /* en_rq_fits for a right shift: taps * 255 * 128 + |b| < 2^30 (taps <= 64: under 2^21) */
        const int ok = en_rq_fold_ok(r->shift[j]) && r->mult[j] >= 0 && b < (1 << 28) &&
                       b > -(1 << 28);
        fast = fast && ok;
        r->fold[3 * j] = r->mult[j];
        r->fold[3 * j + 1] = ok ? en_rq_fold_k(2 * q->output_zp + 1, r->shift[j]) : 0;
        r->fold[3 * j + 2] = -r->shift[j];
    }
    r->fold[12] = (int32_t)(((uint32_t)q->act_min & 0xFFu) * 0x01010101u);
    r->fold[13] = (int32_t)(((uint32_t)q->act_max & 0xFFu) * 0x01010101u);
    r->fast = fast;
}

/* Lane k of v clamped to lane k of [lo4, hi4]: the host model of SSUB8 / SEL twice. */
SMALL_AI uint32_t small_clamp4(uint32_t v, uint32_t lo4, uint32_t hi4) {
    uint32_t out = 0;
    for (int k = 0; k < 4; ++k) {
        int32_t b = (int8_t)((v >> (8 * k)) & 0xFFu);
        const int32_t lo = (int8_t)((lo4 >> (8 * k)) & 0xFFu);
        const int32_t hi = (int8_t)((hi4 >> (8 * k)) & 0xFFu);
        b = b < lo ? lo : (b > hi ? hi : b);
        out |= ((uint32_t)b & 0xFFu) << (8 * k);
    }
    return out;
}

/* Byte `pos / 8` of v replaced by the low byte of y (the host model of BFI). */
#define SMALL_BFI8(v, y, pos) ((v) = ((v) & ~(0xFFu << (pos))) | (((uint32_t)(y) & 0xFFu) << (pos)))

/* One output of the folded form from its sum a and its channel's fold words. */
SMALL_AI int32_t small_fold(int32_t a, const int32_t *f) {
    return en_ssat8(en_rq_fold(a, f[0], f[1], f[2]));
}

/* The exact form for any quantisation (a group outside the folded form's bounds: rare). */
static uint32_t __attribute__((noinline)) small_requant_exact(const small_rq *r,
                                                              const en_requant *q, int32_t a0,
                                                              int32_t a1, int32_t a2, int32_t a3) {
    const int32_t a[4] = {a0, a1, a2, a3};
    uint32_t v = 0;
    for (int j = 0; j < 4; ++j) {
        const int8_t y = en_requant_fast(a[j], r->mult[j], r->shift[j], q->output_zp, q->act_min,
                                         q->act_max);
        v |= ((uint32_t)(uint8_t)y) << (8 * j);
    }
    return v;
}

/* The four outputs of one pixel from its sums (bias included), packed little-endian (channel
 * c0 in byte 0). */
SMALL_AI uint32_t small_requant(const small_rq *r, const en_requant *q, int32_t a0, int32_t a1,
                                int32_t a2, int32_t a3) {
    if (!r->fast) {
        return small_requant_exact(r, q, a0, a1, a2, a3);
    }
#if SMALL_ASM
    /* Eight instructions an output, the fold words loaded as they are needed (GCC's code spilled
     * them): LSL (2 * acc), LDRD, LDR, SMMLAR, ADD, ASR, SSAT, BFI; then the four lanes clamped
     * (SSUB8 / SEL). */
    uint32_t v;
    int32_t m, k, sh, t;
#define SMALL_FOLD(S, OFF, OFF_R)                                                                  \
    "lsl %[" S "], %[" S "], #1\n\t"                                                               \
    "ldrd %[m], %[k], [%[f], #" #OFF "]\n\t"                                                        \
    "ldr %[sh], [%[f], #" #OFF_R "]\n\t"                                                           \
    "smmlar %[t], %[" S "], %[m], %[k]\n\t"                                                        \
    "add %[t], %[t], %[" S "], asr #31\n\t"                                                        \
    "asr %[t], %[t], %[sh]\n\t"
    __asm(SMALL_FOLD("a0", 0, 8) "ssat %[v], #8, %[t]\n\t"
          SMALL_FOLD("a1", 12, 20) "ssat %[t], #8, %[t]\n\tbfi %[v], %[t], #8, #8\n\t"
          SMALL_FOLD("a2", 24, 32) "ssat %[t], #8, %[t]\n\tbfi %[v], %[t], #16, #8\n\t"
          SMALL_FOLD("a3", 36, 44) "ssat %[t], #8, %[t]\n\tbfi %[v], %[t], #24, #8\n\t"
          "ldrd %[m], %[k], [%[f], #48]\n\t" /* act_min, act_max lanes: clamp (SSUB8 / SEL) */
          "ssub8 %[t], %[v], %[m]\n\t"
          "sel %[v], %[v], %[m]\n\t"
          "ssub8 %[t], %[k], %[v]\n\t"
          "sel %[v], %[v], %[k]"
          : [v] "=&r"(v), [m] "=&r"(m), [k] "=&r"(k), [sh] "=&r"(sh), [t] "=&r"(t), [a0] "+r"(a0),
            [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)
          : [f] "r"(r->fold)
          : "memory", "cc");
#undef SMALL_FOLD
    return v;
#else
    uint32_t v = (uint32_t)small_fold(a0, r->fold) & 0xFFu;
    SMALL_BFI8(v, small_fold(a1, r->fold + 3), 8);
    SMALL_BFI8(v, small_fold(a2, r->fold + 6), 16);
    SMALL_BFI8(v, small_fold(a3, r->fold + 9), 24);
    return small_clamp4(v, (uint32_t)r->fold[12], (uint32_t)r->fold[13]);
#endif
}

/* Four sums += one window row of KW taps (the assembly: KW = 3): x at the row's first pixel,
 * *wt at its first tap (advanced past the row); and += a whole window of any shape. */
#if SMALL_ASM
/* One tap: LDRD of the pixel's pairs (at byte XOFF from x), LDRD of the filter's (post-
 * incremented), four SMLAxy. GCC keeps the sums in registers but, left to itself, splits the
 * loads and spills around them. */
#define SMALL_TAP(XOFF)                                                                            \
    "ldrd %[e], %[o], [%[x], #" #XOFF "]\n\t"                                                     \
    "ldrd %[we], %[wo], [%[w]], #8\n\t"                                                            \
    "smlabb %[a0], %[e], %[we], %[a0]\n\t"                                                         \
    "smlatt %[a2], %[e], %[we], %[a2]\n\t"                                                         \
    "smlabb %[a1], %[o], %[wo], %[a1]\n\t"                                                         \
    "smlatt %[a3], %[o], %[wo], %[a3]\n\t"
#define SMALL_ROW_ASM(TAPS)                                                                        \
    __asm(TAPS                                                                                     \
          : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [a3] "+r"(a[3]), [w] "+r"(w),       \
            [e] "=&r"(e), [o] "=&r"(o), [we] "=&r"(we), [wo] "=&r"(wo)                             \
          : [x] "r"(x)                                                                             \
          : "memory")

SMALL_AI void small_row(const uint64_t *x, const uint64_t **wt, int32_t KW, int32_t a[4]) {
    const uint64_t *w = *wt;
    int32_t e, o, we, wo;
    (void)KW;
    SMALL_ROW_ASM(SMALL_TAP(0) SMALL_TAP(8) SMALL_TAP(16));
    *wt = w;
}

/* A window of KH rows of 5 or 7 taps (Kx1 windows run transposed: one row): the taps of a row
 * unrolled, the rows a loop inside the assembly block: 6 instructions a tap and 4 a row. The
 * rows and the row step come through memory (small_rows), as small_window_any's loop state: a
 * twelfth register operand leaves -O0 (frame pointer) no register to spare. */
typedef struct {
    int32_t rows; /* KH */
    int32_t step; /* bytes from a row's first pixel to the next row's */
} small_rows;

#define SMALL_ROWS_ASM(TAPS)                                                                       \
    __asm("ldr %[n], [%[R]]\n"                                                                    \
          "1:\n\t" TAPS                                                                            \
          "ldr %[e], [%[R], #4]\n\t"                                                               \
          "add %[x], %[x], %[e]\n\t"                                                              \
          "subs %[n], %[n], #1\n\t"                                                                \
          "bne 1b"                                                                                 \
          : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [a3] "+r"(a[3]), [w] "+r"(w),       \
            [x] "+r"(x), [n] "=&r"(n), [e] "=&r"(e), [o] "=&r"(o), [we] "=&r"(we), [wo] "=&r"(wo)   \
          : [R] "r"(R)                                                                             \
          : "memory", "cc")

SMALL_AI void small_window_w5(const uint64_t *x, const uint64_t *w, const small_rows *R,
                              int32_t a[4]) {
    int32_t n, e, o, we, wo;
    SMALL_ROWS_ASM(SMALL_TAP(0) SMALL_TAP(8) SMALL_TAP(16) SMALL_TAP(24) SMALL_TAP(32));
}

SMALL_AI void small_window_w7(const uint64_t *x, const uint64_t *w, const small_rows *R,
                              int32_t a[4]) {
    int32_t n, e, o, we, wo;
    SMALL_ROWS_ASM(SMALL_TAP(0) SMALL_TAP(8) SMALL_TAP(16) SMALL_TAP(24) SMALL_TAP(32)
                       SMALL_TAP(40) SMALL_TAP(48));
}

/* Any window: its rows and taps as loops inside one assembly block (GCC's loops around tap
 * blocks moved the sums between registers and spilled): 9 instructions a tap, 7 a row. */
typedef struct {
    int32_t kw;   /* taps per row */
    int32_t skip; /* bytes from past a row's last pixel to the next row's first */
    int32_t rows; /* rows left: set to KH before each window */
} small_loop;

SMALL_AI void small_window_any(const uint64_t *x, const uint64_t *w, small_loop *L, int32_t a[4]) {
    int32_t n, e, o, we, wo;
    __asm("1:\n\t"
          "ldr %[n], [%[L]]\n"
          "2:\n\t" SMALL_TAP(0)
          "adds %[x], %[x], #8\n\t"
          "subs %[n], %[n], #1\n\t"
          "bne 2b\n\t"
          "ldr %[e], [%[L], #4]\n\t"
          "add %[x], %[x], %[e]\n\t"
          "ldr %[e], [%[L], #8]\n\t"
          "subs %[e], %[e], #1\n\t"
          "str %[e], [%[L], #8]\n\t"
          "bne 1b"
          : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [a3] "+r"(a[3]), [w] "+r"(w),
            [x] "+r"(x), [n] "=&r"(n), [e] "=&r"(e), [o] "=&r"(o), [we] "=&r"(we), [wo] "=&r"(wo)
          : [L] "r"(L)
          : "memory", "cc");
}
#else
SMALL_AI void small_row(const uint64_t *x, const uint64_t **wt, int32_t KW, int32_t a[4]) {
    const uint64_t *w = *wt;
    for (int32_t j = 0; j < KW; ++j, ++w) {
        const int32_t e = (int32_t)(uint32_t)x[j], o = (int32_t)(uint32_t)(x[j] >> 32);
        const int32_t we = (int32_t)(uint32_t)*w, wo = (int32_t)(uint32_t)(*w >> 32);
        a[0] = __smlabb(e, we, a[0]);
        a[2] = __smlatt(e, we, a[2]);
        a[1] = __smlabb(o, wo, a[1]);
        a[3] = __smlatt(o, wo, a[3]);
    }
    *wt = w;
}

typedef struct {
    int32_t kw, skip, rows;
} small_loop;

SMALL_AI void small_window_any(const uint64_t *x, const uint64_t *w, small_loop *L, int32_t a[4]) {
    for (; L->rows > 0; --L->rows, x = (const uint64_t *)(const void *)((const char *)(x + L->kw) + L->skip)) {
        small_row(x, &w, L->kw, a);
    }
}

typedef struct {
    int32_t rows, step;
} small_rows;

SMALL_AI void small_window_rows(const uint64_t *x, const uint64_t *w, const small_rows *R,
                                int32_t KW, int32_t a[4]) {
    for (int32_t n = R->rows; n > 0; --n, x = (const uint64_t *)(const void *)((const char *)x + R->step)) {
        small_row(x, &w, KW, a);
    }
}
#define small_window_w5(x, w, R, a) small_window_rows(x, w, R, 5, a)
#define small_window_w7(x, w, R, a) small_window_rows(x, w, R, 7, a)
#endif

/* One output pixel: the sums of its whole window, requantised and stored. x at the window's
 * top-left pixel, xrow pixels per plane row, wt the filter tap by tap; each a 64-bit word of
 * two int16 pairs. KH and KW are constants where unrolled. */
SMALL_AI void small_pixel(const uint64_t *x, int32_t xrow, const uint64_t *wt, int32_t KH,
                          int32_t KW, small_loop *L, const small_rows *R, const small_rq *r,
                          const en_requant *q, int8_t *y) {
    int32_t a[4] = {r->init[0], r->init[1], r->init[2], r->init[3]};
    if (KH == 3 && KW == 3) { /* unrolled (constants where the caller passes them) */
        small_row(x, &wt, 3, a);
        small_row(x + xrow, &wt, 3, a);
        small_row(x + 2 * xrow, &wt, 3, a);
    } else if (KW == 5) {
        small_window_w5(x, wt, R, a);
    } else if (KW == 7) {
        small_window_w7(x, wt, R, a);
    } else {
        L->rows = KH;
        small_window_any(x, wt, L, a);
    }
    const uint32_t v = small_requant(r, q, a[0], a[1], a[2], a[3]);
    __builtin_memcpy(y, &v, 4);
}

/* Two int16 pairs as one 64-bit word: lo in the low half (the first word in memory). */
SMALL_AI uint64_t small_pair(int32_t lo, int32_t hi) {
    return (uint64_t)(uint32_t)lo | ((uint64_t)(uint32_t)hi << 32);
}

/* A call seen as rows of a plane: the image itself, or (Kx1 kernels) transposed, so that the
 * window's long side lies along a plane row, contiguous. */
typedef struct {
    int32_t rows, cols;         /* input view extents */
    int32_t KH, KW, OH, OW, sh, sw, pt, pl;
    int32_t PH, PW;             /* plane extents: (OH - 1) * sh + KH, (OW - 1) * sw + KW */
    size_t in_row, in_col;      /* input byte strides of a view row / column */
    size_t y_row, y_col;        /* output byte strides of a view row / column */
} small_geom;

static void small_view(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                       const en_dims *out_dims, small_geom *g) {
    const size_t C = (size_t)in_dims->c;
    if (w_dims->w == 1 && w_dims->h > 1) { /* transposed: view rows are image columns */
        g->rows = in_dims->w, g->cols = in_dims->h, g->KH = 1, g->KW = w_dims->h;
        g->OH = out_dims->w, g->OW = out_dims->h, g->sh = p->stride_w, g->sw = p->stride_h;
        g->pt = p->pad_left, g->pl = p->pad_top;
        g->in_row = C, g->in_col = (size_t)in_dims->w * C;
        g->y_row = C, g->y_col = (size_t)out_dims->w * C;
    } else {
        g->rows = in_dims->h, g->cols = in_dims->w, g->KH = w_dims->h, g->KW = w_dims->w;
        g->OH = out_dims->h, g->OW = out_dims->w, g->sh = p->stride_h, g->sw = p->stride_w;
        g->pt = p->pad_top, g->pl = p->pad_left;
        g->in_row = (size_t)in_dims->w * C, g->in_col = C;
        g->y_row = (size_t)out_dims->w * C, g->y_col = C;
    }
    g->PH = (g->OH - 1) * g->sh + g->KH;
    g->PW = (g->OW - 1) * g->sw + g->KW;
}

/* Every output of one group and batch: y at the group's first channel of the batch's output.
 * KHC / KWC: KH / KW as constants (0: any). */
SMALL_AI void small_outputs_k(const small_geom *g, const uint64_t *plane, const uint64_t *wx,
                              const small_rq *r, const en_requant *q, int8_t *y, int32_t KHC,
                              int32_t KWC) {
    const int32_t KH = KHC > 0 ? KHC : g->KH, KW = KWC > 0 ? KWC : g->KW;
    small_loop L = {KW, (int32_t)((g->PW - KW) * sizeof(uint64_t)), 0};
    const small_rows R = {KH, (int32_t)(g->PW * sizeof(uint64_t))};
    for (int32_t oh = 0; oh < g->OH; ++oh, y += g->y_row) {
        const uint64_t *xr = plane + (size_t)oh * g->sh * g->PW;
        int8_t *yp = y;
        for (int32_t ow = 0; ow < g->OW; ++ow, yp += g->y_col) {
            small_pixel(xr + ow * g->sw, g->PW, wx, KH, KW, &L, &R, r, q, yp);
        }
    }
}

/* Four copies: 3x3 windows unrolled, rows of 5 and of 7 taps unrolled, any other shape as loops
 * of taps and rows. */
static void small_outputs(const small_geom *g, const uint64_t *plane, const uint64_t *wx,
                          const small_rq *r, const en_requant *q, int8_t *y) {
    if (g->KW == 3 && g->KH == 3) {
        small_outputs_k(g, plane, wx, r, q, y, 3, 3);
    } else if (g->KW == 5) {
        small_outputs_k(g, plane, wx, r, q, y, 0, 5);
    } else if (g->KW == 7) {
        small_outputs_k(g, plane, wx, r, q, y, 0, 7);
    } else {
        small_outputs_k(g, plane, wx, r, q, y, 0, 0);
    }
}

/* The plane of one group: plane pixel (ph, pw) = view pixel (ph - pt, pw - pl) or padding
 * (zeros); x at the group's first channel of the batch's input. */
static void small_plane(uint64_t *plane, const int8_t *x, const small_geom *g, int32_t off2) {
    const int32_t PW = g->PW, pw0 = g->pl, pw1 = g->pl + g->cols < PW ? g->pl + g->cols : PW;
    for (int32_t ph = 0; ph < g->PH; ++ph, plane += PW) {
        const int32_t ih = ph - g->pt;
        int32_t pw = 0;
        if (ih >= 0 && ih < g->rows) {
            for (; pw < pw0; ++pw) {
                plane[pw] = 0;
            }
            const int8_t *xp = x + (size_t)ih * g->in_row;
            for (; pw < pw1; ++pw, xp += g->in_col) {
                const uint32_t v = en_read_u32(xp);
                plane[pw] = small_pair(__sxtab16(off2, (int8x4_t)v), en_sxtab16_ror8(off2, v));
            }
        }
        for (; pw < PW; ++pw) {
            plane[pw] = 0;
        }
    }
}

/* Taps of the windows along one axis that fall inside the input (the rest multiply padding). */
static int64_t small_axis_taps(int32_t size, int32_t k, int32_t s, int32_t pad, int32_t out) {
    int64_t n = 0;
    for (int32_t o = 0; o < out; ++o) {
        const int32_t i0 = o * s - pad;
        const int32_t lo = i0 < 0 ? -i0 : 0, hi = size - i0 < k ? size - i0 : k;
        n += hi > lo ? hi - lo : 0;
    }
    return n;
}

/* Whether en_dw_small takes the call (see the file comment). */
static int small_takes(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                       const en_dims *out_dims, int in_place) {
    const int64_t PH = (int64_t)(out_dims->h - 1) * p->stride_h + w_dims->h;
    const int64_t PW = (int64_t)(out_dims->w - 1) * p->stride_w + w_dims->w;
    if (p->dilation_h != 1 || p->dilation_w != 1 || in_dims->c % 4 != 0 ||
        (int64_t)w_dims->h * w_dims->w > SMALL_TAPS || PH * PW > SMALL_PIXELS ||
        p->pad_top >= w_dims->h || p->pad_left >= w_dims->w) {
        return 0;
    }
    const int64_t outputs = (int64_t)out_dims->h * out_dims->w;
    if (in_place && outputs > (int64_t)in_dims->h * in_dims->w) {
        return 0;
    }
    /* Which windows gain, measured on the M7 (kernel-server calls on 2x2 to 14x14 maps, the
     * latency table's MBConv blocks): 3x3 at either stride on at most SMALL_OUTPUTS pixels
     * (blocks on 3x3 to 7x7 maps 10-22 % faster; larger maps stay with the row engine, whose
     * per-row setup is spread over more pixels there); 5x5 and 7x7 at any stride (their rows of
     * taps unrolled: 3-45 % fewer instructions than the row engine or the direct strategy on
     * 4x4 to 16x16 maps, the least at stride 1 on the largest); Kx1 of 5 taps and more (5x1 and
     * 7x1: 21-23 %). 3-tap Kx1 windows stay in their own strategy. */
    const int32_t KH = w_dims->h, KW = w_dims->w;
    const int wide = KH == KW && (KW == 5 || KW == 7);
    /* Kx1 planes stay within KX1_PIXELS: on longer ones (10x1 on 16x16, on a 256-sample series)
     * the Kx1 strategy's rows beat the tap loop here by up to 30 %. */
    const int kx1 = KW == 1 && KH >= 5 && PH * PW <= KX1_PIXELS;
    if (!(KH == 3 && KW == 3 && outputs <= SMALL_OUTPUTS) && !wide && !kx1) {
        return 0;
    }
    const int32_t taps = KH * KW;
    /* Windows mostly over padding (a 7x7 SAME window on a 3x3 map) are cheaper where the
     * padding taps are skipped (the direct strategy): take the call when at least half the taps
     * are real, a quarter for 5x5 and 7x7 windows (7x7 SAME on 4x4 and 5x5 maps, a third and
     * 43 % real: 6-17 % faster here; on 3x3, 18 %: 10 % slower). */
    const int64_t real = small_axis_taps(in_dims->h, w_dims->h, p->stride_h, p->pad_top, out_dims->h) *
                         small_axis_taps(in_dims->w, w_dims->w, p->stride_w, p->pad_left, out_dims->w);
    return (wide ? 4 : 2) * real >= outputs * taps;
}

int en_dw_small(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                const en_dims *out_dims, int8_t *out) {
    if (!small_takes(p, in_dims, w_dims, out_dims, out == in)) {
        return 0;
    }
    uint64_t plane[SMALL_PIXELS];
    uint64_t wx[SMALL_TAPS];
    const int32_t C = in_dims->c, taps = w_dims->h * w_dims->w;
    small_geom g;
    small_view(p, in_dims, w_dims, out_dims, &g);
    const int32_t offset = -q->input_zp;
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    const size_t in_batch = (size_t)in_dims->h * in_dims->w * C;
    const size_t out_batch = (size_t)out_dims->h * out_dims->w * C;
    for (int32_t c0 = 0; c0 < C; c0 += 4) {
        small_rq r;
        small_rq_make(&r, q, bias, c0);
        for (int32_t t = 0; t < taps; ++t) { /* {w c, w c+2}, {w c+1, w c+3} */
            const uint32_t v = en_read_u32(w + (size_t)t * C + c0);
            wx[t] = small_pair(__sxtb16((int8x4_t)v), en_sxtab16_ror8(0, v));
        }
        for (int32_t b = 0; b < in_dims->n; ++b) {
            small_plane(plane, in + (size_t)b * in_batch + c0, &g, off2);
            small_outputs(&g, plane, wx, &r, q, out + (size_t)b * out_batch + c0);
        }
    }
    return 1;
}
#else
int en_dw_small(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                const en_dims *out_dims, int8_t *out) {
    (void)p, (void)q, (void)in_dims, (void)in, (void)w_dims, (void)w, (void)bias, (void)out_dims,
        (void)out;
    return 0;
}
#endif
