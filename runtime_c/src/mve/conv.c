/* Helium (MVE) conv engine: every en_conv2d* kernel of the mve build, same results as ref.
 *
 * acc = bias + sum w * (x - input_zp) is computed as (bias - input_zp * sum w) + sum w * x,
 * with the raw int8 window and filter fed straight to VMLADAVA (16 products summed per
 * instruction). Padding taps hold the value input_zp, so they add w * zp, which the correction
 * term cancels: sum over the whole window of w * (x - zp) is exactly the reference sum with
 * out-of-bounds taps skipped. The correction (bias - zp * sum w) is computed once per channel
 * and call (VADDVA), for up to CH_CHUNK channels at a time.
 *
 * Output pixels in passes of eight, or four for long windows (raster order, so a pass may span
 * rows and images): each
 * pixel's window (L = KH * KW * C_in int8 values in OHWI order) is gathered once into a row of
 * the column buffer, a kernel row of KW taps being one contiguous copy when it lies inside the
 * input (undilated; one predicated load and store up to 16 bytes, the position stepped per
 * pixel without divisions: a 3x3 stem on one channel spent more on the gathering than on its
 * MACs); a pointwise conv (1x1, stride 1, no padding) out of place reads the input pixels
 * themselves, and in place copies a pass's pixels into the buffer at once. Windows of up to 64 values then stay in Q registers, one pixel at a time,
 * while the filter rows stream by (dot_regs: K = ceil(L / 16) loads and VMLADAVAs per output
 * channel plus 4 instructions, no per-channel set-up); longer windows take four pixels per
 * pass, one 16-byte filter load shared by four VMLADAVAs in a tail-predicated loop (dot_batch:
 * 10 instructions per 64 MACs). The accumulators of a batch of up to 64 channels are
 * requantised four channels per vector with the constants in registers for the whole pass
 * (mve/mve.h), optionally followed by the fused ADD, also as vectors.
 * Windows longer than COL_MAX (when the input is not read in place) take a one-pixel path that
 * dots each in-bounds kernel row straight from the input, with the filter sums of just those
 * taps (slower, any size).
 * Exactness: integer identities evaluated modulo 2^32 (unsigned where C would overflow); the
 * reference accumulator fits int32 (kernels.h), so the modular value is that accumulator.
 * In place (pointwise, out == in): a group's inputs are all in the column buffer before any of
 * its outputs is written, and those land at or before its own input bytes (C_out <= C_in).
 */
#include "mve/conv.h"

#include <stddef.h>

#include "internal/checks.h"
#include "internal/fixedpoint.h"
#include "internal/pix_cursor.h"
#include "mve/mve.h"

enum {
    PIXELS = 4,     /* output pixels per pass of dot_batch */
    REG_PIXELS = 8, /* output pixels per pass of dot_regs */
    COL_MAX = 576,  /* window values a column-buffer row holds (3x3x64); 2.3 KB of stack */
    CH_CHUNK = 512, /* channels whose correction terms are kept at once; 2 KB of stack */
    REG_BATCH = 64, /* channels requantised together after dot_regs (after dot_batch: 32) */
    BATCH = 32,
    REG_TAPS = 64,  /* windows up to this long stay in Q registers (dot_regs) */
    SHORT_TAPS = 16,   /* windows up to this long take dot_short, */
    SHORT_PIXELS = 32, /* 32 pixels a pass (conv_regs' buffers: 32 windows of 16 values, */
    SHORT_BATCH = 16   /* 32 x 16 accumulators), so its filters load once per 32 pixels */
};
typedef char en_short_fits[SHORT_PIXELS * SHORT_TAPS <= REG_PIXELS * REG_TAPS &&
                                   SHORT_PIXELS * SHORT_BATCH <= REG_PIXELS * REG_BATCH &&
                                   SHORT_BATCH % 4 == 0
                               ? 1
                               : -1];

/* The in-place kernel relies on its C_in always fitting a column-buffer row. */
typedef char en_in_place_fits_col[EN_CONV_IN_PLACE_MAX_CIN <= COL_MAX ? 1 : -1];

static inline int32_t add_u32(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* acc[i][j] = corr[j] + sum_k rows[i][k] * w_j[k] over n values, for the four rows and the nb
 * filter rows w_j = w + j * w_row. The loop over the n values is a tail-predicated low-overhead
 * loop (WLSTP/LETP: the last, partial 16-value step is predicated by the hardware, inactive
 * lanes are neither loaded nor summed) around one filter load and four VMLADAVAs: 10
 * instructions per 64 MACs. Inline assembly because GCC 12 neither emits WLSTP/LETP nor keeps
 * the accumulators in the even registers VMLADAVA needs without spilling; the operands are
 * pinned to registers so the compiler schedules the rest. */
static void dot_batch(const int8_t *const rows[PIXELS], const int8_t *w, int32_t w_row,
                      int32_t n, const int32_t *corr, int32_t nb, int32_t (*acc)[BATCH]) {
    for (int32_t j = 0; j < nb; ++j, w += w_row) {
        register const int8_t *pw __asm("r0") = w;
        register const int8_t *p0 __asm("r1") = rows[0];
        register const int8_t *p1 __asm("r3") = rows[1];
        register const int8_t *p2 __asm("r5") = rows[2];
        register const int8_t *p3 __asm("r9") = rows[3]; /* not r7: the Thumb frame pointer at -O0 */
        const int32_t k = corr[j];
        register int32_t a0 __asm("r4") = k;
        register int32_t a1 __asm("r6") = k;
        register int32_t a2 __asm("r8") = k;
        register int32_t a3 __asm("r12") = k;
        __asm volatile(
            "wlstp.8 lr, %[n], 2f\n"
            "1:\n\t"
            "vldrb.8 q0, [%[pw]], #16\n\t"
            "vldrb.8 q1, [%[p0]], #16\n\t"
            "vmladava.s8 %[a0], q1, q0\n\t"
            "vldrb.8 q2, [%[p1]], #16\n\t"
            "vmladava.s8 %[a1], q2, q0\n\t"
            "vldrb.8 q3, [%[p2]], #16\n\t"
            "vmladava.s8 %[a2], q3, q0\n\t"
            "vldrb.8 q1, [%[p3]], #16\n\t"
            "vmladava.s8 %[a3], q1, q0\n\t"
            "letp lr, 1b\n"
            "2:\n"
            : [pw] "+r"(pw), [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [p3] "+r"(p3),
              [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)
            : [n] "r"(n)
            : "lr", "q0", "q1", "q2", "q3", "memory");
        acc[0][j] = a0;
        acc[1][j] = a1;
        acc[2][j] = a2;
        acc[3][j] = a3;
    }
}

/* Slice I - 4 of a filter row (bytes 16 * (I - 4) on) into qI, dotted with the window's slice
 * in register X: the body of dot_regs, once per slice. */
#define EN_SLICE(I, X) "vldrb.8 q" #I ", [%[w], #" #I "*16 - 64]\n\t" \
                       "vmladava.s8 %[a], q" #I ", %q[" #X "]\n\t"

/* acc[j] = corr[j] + sum_k x[k] * w_j[k] over n <= 64 values, for nb filter rows w_j = w + j *
 * w_row: the window stays in up to four Q registers (zero past n) while the loop streams the
 * filter rows, K = ceil(n / 16) loads and VMLADAVAs per row plus 4 instructions (0.17 to 0.31
 * per MAC, with no per-row set-up; dot_batch needs 21 per row and group). A filter row's last
 * slice may read past the row (the window is zero there); the call's very last row is done
 * with predicated loads instead, so nothing past the filters is read. */
static void dot_regs(const int8_t *x, int32_t n, const int8_t *w, int32_t w_row,
                     const int32_t *corr, int32_t nb, int last_rows, int32_t *acc) {
    const int32_t k = (n + 15) >> 4;
    int8x16_t x0 = vldrbq_z_s8(x, vctp8q((uint32_t)n));
    int8x16_t x1 = vdupq_n_s8(0), x2 = vdupq_n_s8(0), x3 = vdupq_n_s8(0);
    if (k > 1) {
        x1 = vldrbq_z_s8(x + 16, vctp8q((uint32_t)(n - 16)));
    }
    if (k > 2) {
        x2 = vldrbq_z_s8(x + 32, vctp8q((uint32_t)(n - 32)));
    }
    if (k > 3) {
        x3 = vldrbq_z_s8(x + 48, vctp8q((uint32_t)(n - 48)));
    }
    const int32_t rows = last_rows && (n & 15) ? nb - 1 : nb;
    register int32_t a __asm("r12"); /* VMLADAVA accumulates in an even register */
    const int8_t *wp = w; /* slice j in q(4 + j), loaded from wp + 16 * j */
    int32_t *out = acc;
    const int32_t *cp = corr;
#define EN_DOT_REGS(BODY)                                                              \
    __asm volatile("wls lr, %[m], 2f\n"                                                \
                   "1:\n\t"                                                            \
                   "ldr %[a], [%[c]], #4\n\t" BODY                                     \
                   "add %[w], %[w], %[wr]\n\t"                                          \
                   "str %[a], [%[o]], #4\n\t"                                           \
                   "le lr, 1b\n"                                                        \
                   "2:\n"                                                               \
                   : [a] "=&r"(a), [w] "+r"(wp), [c] "+r"(cp), [o] "+r"(out)            \
                   : [m] "r"(rows), [wr] "r"(w_row), [x0] "w"(x0), [x1] "w"(x1),         \
                     [x2] "w"(x2), [x3] "w"(x3)                                          \
                   : "lr", "q4", "q5", "q6", "q7", "memory")
    switch (k) {
    case 1:
        EN_DOT_REGS(EN_SLICE(4, x0));
        break;
    case 2:
        EN_DOT_REGS(EN_SLICE(4, x0) EN_SLICE(5, x1));
        break;
    case 3:
        EN_DOT_REGS(EN_SLICE(4, x0) EN_SLICE(5, x1) EN_SLICE(6, x2));
        break;
    default:
        EN_DOT_REGS(EN_SLICE(4, x0) EN_SLICE(5, x1) EN_SLICE(6, x2) EN_SLICE(7, x3));
        break;
    }
#undef EN_DOT_REGS
    if (rows < nb) {
        const int8_t *wl = w + (size_t)rows * w_row;
        int32_t s = corr[rows];
        for (int32_t i = 0; i < n; i += 16) {
            s = vmladavaq_s8(s, vldrbq_z_s8(wl + i, vctp8q((uint32_t)(n - i))), vldrbq_z_s8(x + i, vctp8q((uint32_t)(n - i))));
        }
        acc[rows] = s;
    }
}
#undef EN_SLICE

/* acc[i * stride + j] = corr[j] + sum_k rows[i][k] * w_j[k] for the n pixels and nb filter rows
 * w_j = w + j * w_row of a window of taps <= 16 values: filter-stationary, four rows held in Q
 * registers while the pixels stream by, so a window costs one (predicated) load and four
 * VMLADAVAs per four channels. dot_regs streams the filter rows per pixel instead, which for
 * one-register windows spent more on its per-pixel set-up and per-row loop than on the sums
 * (a 3x3 stem on one channel, a pointwise conv on 16). Rows past nb (to a multiple of 4) are
 * zero filters; their sums land in acc columns below round4(nb) <= the batch, and are not
 * stored. Loads are predicated to taps: nothing past a window or the filters is read. */
static void dot_short(const int8_t *const *rows, int32_t n, int32_t taps, const int8_t *w,
                      int32_t w_row, const int32_t *corr, int32_t nb, int32_t *acc,
                      int32_t stride) {
    const mve_pred16_t p = vctp8q((uint32_t)taps);
    const int8x16_t zero = vdupq_n_s8(0);
    for (int32_t j = 0; j < nb; j += 4, w += 4 * w_row) {
        const int32_t left = nb - j;
        const int8x16_t f0 = vldrbq_z_s8(w, p);
        const int8x16_t f1 = left > 1 ? vldrbq_z_s8(w + w_row, p) : zero;
        const int8x16_t f2 = left > 2 ? vldrbq_z_s8(w + 2 * w_row, p) : zero;
        const int8x16_t f3 = left > 3 ? vldrbq_z_s8(w + 3 * w_row, p) : zero;
        const int32_t c0 = corr[j], c1 = left > 1 ? corr[j + 1] : 0;
        const int32_t c2 = left > 2 ? corr[j + 2] : 0, c3 = left > 3 ? corr[j + 3] : 0;
#if defined(__OPTIMIZE__)
        /* per pixel: its window pointer, a predicated load, four MOV + VMLADAVA, two STRD
         * (inline assembly: GCC re-materialised the predicate and spilled, 24 instructions per
         * pixel instead of 15; VMLADAVA accumulates in even registers, pinned as dot_batch's;
         * -O0 keeps a frame pointer and has too few registers left: the C below) */
        register int32_t a0 __asm("r4");
        register int32_t a1 __asm("r6");
        register int32_t a2 __asm("r8");
        register int32_t a3 __asm("r12");
        const int8_t *const *rp = rows;
        int32_t *ap = acc + j;
        int8x16_t x;
        __asm volatile("vmsr p0, %[p]\n\t"
                       "wls lr, %[n], 2f\n"
                       "1:\n\t"
                       "ldr %[a3], [%[rp]], #4\n\t"
                       "vpst\n\t"
                       "vldrbt.8 %q[x], [%[a3]]\n\t"
                       "mov %[a0], %[c0]\n\t"
                       "vmladava.s8 %[a0], %q[x], %q[f0]\n\t"
                       "mov %[a1], %[c1]\n\t"
                       "vmladava.s8 %[a1], %q[x], %q[f1]\n\t"
                       "mov %[a2], %[c2]\n\t"
                       "vmladava.s8 %[a2], %q[x], %q[f2]\n\t"
                       "mov %[a3], %[c3]\n\t"
                       "vmladava.s8 %[a3], %q[x], %q[f3]\n\t"
                       "strd %[a0], %[a1], [%[ap]]\n\t"
                       "strd %[a2], %[a3], [%[ap], #8]\n\t"
                       "add %[ap], %[ap], %[sb]\n\t"
                       "le lr, 1b\n"
                       "2:\n"
                       : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
                         [rp] "+r"(rp), [ap] "+r"(ap), [x] "=&w"(x)
                       : [p] "r"((uint32_t)p), [n] "r"(n), [c0] "r"(c0), [c1] "r"(c1),
                         [c2] "r"(c2), [c3] "r"(c3), [f0] "w"(f0), [f1] "w"(f1), [f2] "w"(f2),
                         [f3] "w"(f3), [sb] "r"(4 * stride)
                       : "lr", "memory");
#else
        int32_t *a = acc + j;
        for (int32_t i = 0; i < n; ++i, a += stride) {
            const int8x16_t x = vldrbq_z_s8(rows[i], p);
            a[0] = vmladavaq_s8(c0, x, f0);
            a[1] = vmladavaq_s8(c1, x, f1);
            a[2] = vmladavaq_s8(c2, x, f2);
            a[3] = vmladavaq_s8(c3, x, f3);
        }
#endif
    }
}

/* sum_k x[k] * w[k] over n values; *wsum += sum_k w[k]. */
static int32_t dot1(const int8_t *x, const int8_t *w, int32_t n, int32_t *wsum) {
    int32_t a = 0, s = *wsum;
    for (; n > 0; n -= 16, x += 16, w += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        const int8x16_t vw = vldrbq_z_s8(w, p);
        a = vmladavaq_s8(a, vldrbq_z_s8(x, p), vw);
        s = vaddvaq_s8(s, vw);
    }
    *wsum = s;
    return a;
}

static int32_t sum_s8(const int8_t *w, int32_t n) {
    int32_t s = 0;
    for (; n >= 16; n -= 16, w += 16) {
        s = vaddvaq_s8(s, vldrbq_s8(w));
    }
    if (n > 0) {
        s = vaddvaq_s8(s, vldrbq_z_s8(w, vctp8q((uint32_t)n)));
    }
    return s;
}

static void copy_run(int8_t *dst, const int8_t *src, int32_t n) {
    for (; n >= 16; n -= 16, dst += 16, src += 16) {
        vstrbq_s8(dst, vldrbq_s8(src));
    }
    if (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
}

static void fill_run(int8_t *dst, int8x16_t v, int32_t n) {
    for (; n >= 16; n -= 16, dst += 16) {
        vstrbq_s8(dst, v);
    }
    if (n > 0) {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
    }
}

/* What every window fill of a call shares, computed once (fill_col runs per output pixel, and
 * on small windows, such as a 3x3 stem on one input channel, re-deriving it cost more than the
 * copies themselves). */
typedef struct {
    const int8_t *in;
    int32_t h, w, cin, kh_n, kw_n, dh, dw;
    int32_t run;           /* bytes of one undilated kernel row: KW * C_in */
    size_t in_row, in_img; /* bytes of an input row and image */
    int8x16_t zp;          /* input_zp in every lane: the padding value */
    mve_pred16_t run_p;    /* lanes of one kernel row, when run <= 16 */
} fill_ctx;

static void fill_ctx_make(const en_mve_conv_args *c, fill_ctx *f) {
    const en_dims *id = c->in_dims;
    f->in = c->in;
    f->h = id->h, f->w = id->w, f->cin = id->c;
    f->kh_n = c->w_dims->h, f->kw_n = c->w_dims->w;
    f->dh = c->p->dilation_h, f->dw = c->p->dilation_w;
    f->run = f->kw_n * f->cin;
    f->in_row = (size_t)id->w * id->c;
    f->in_img = (size_t)id->h * f->in_row;
    f->zp = vdupq_n_s8((int8_t)c->q->input_zp);
    f->run_p = vctp8q((uint32_t)(f->run < 16 ? f->run : 16));
}

/* Taps kw in [*lo, *hi) of a kernel row at input column iw0 lie inside the input (undilated). */
static inline void kw_range(int32_t iw0, int32_t kw_n, int32_t w, int32_t *lo, int32_t *hi) {
    const int32_t l = en_clamp_i32(-iw0, 0, kw_n);
    *lo = l;
    *hi = en_clamp_i32(w - iw0, l, kw_n);
}

/* The window of an output pixel of image b whose top-left tap is input (ih0, iw0), as L int8
 * values in OHWI order, input_zp for padding. A window inside the input (undilated across) is
 * one copy per kernel row, a single predicated load and store when the row is 16 bytes or
 * less. */
static void fill_col(const fill_ctx *f, int32_t b, int32_t ih0, int32_t iw0, int8_t *row) {
    const int32_t cin = f->cin, kh_n = f->kh_n, kw_n = f->kw_n, dh = f->dh, dw = f->dw;
    const int32_t run = f->run;
    const int8_t *in_b = f->in + (size_t)b * f->in_img;
    if (dw == 1 && ih0 >= 0 && ih0 + (kh_n - 1) * dh < f->h && iw0 >= 0 && iw0 + kw_n <= f->w) {
        const int8_t *x = in_b + (size_t)ih0 * f->in_row + (size_t)iw0 * cin;
        const size_t step = (size_t)dh * f->in_row;
        if (run <= 16) {
            for (int32_t kh = 0; kh < kh_n; ++kh, row += run, x += step) {
                vstrbq_p_s8(row, vldrbq_z_s8(x, f->run_p), f->run_p);
            }
        } else {
            for (int32_t kh = 0; kh < kh_n; ++kh, row += run, x += step) {
                copy_run(row, x, run);
            }
        }
        return;
    }
    for (int32_t kh = 0; kh < kh_n; ++kh, row += run) {
        const int32_t ih = ih0 + kh * dh;
        if (ih < 0 || ih >= f->h) {
            fill_run(row, f->zp, run);
            continue;
        }
        const int8_t *x = in_b + (size_t)ih * f->in_row;
        if (dw == 1) {
            int32_t lo, hi;
            kw_range(iw0, kw_n, f->w, &lo, &hi);
            fill_run(row, f->zp, lo * cin);
            copy_run(row + lo * cin, x + (ptrdiff_t)(iw0 + lo) * cin, (hi - lo) * cin);
            fill_run(row + hi * cin, f->zp, (kw_n - hi) * cin);
            continue;
        }
        for (int32_t kw = 0; kw < kw_n; ++kw) {
            const int32_t iw = iw0 + kw * dw;
            if (iw < 0 || iw >= f->w) {
                fill_run(row + kw * cin, f->zp, cin);
            } else {
                copy_run(row + kw * cin, x + (size_t)iw * cin, cin);
            }
        }
    }
}

/* corr[j] = bias[co + j] - input_zp * sum of filter row co + j, for n channels. */
static void fill_corr(const en_mve_conv_args *c, int32_t co, int32_t n, int32_t taps,
                      int32_t *corr) {
    const uint32_t zp = (uint32_t)c->q->input_zp;
    for (int32_t j = 0; j < n; ++j) {
        const uint32_t s = (uint32_t)sum_s8(c->w + (size_t)(co + j) * c->w_row, taps);
        const uint32_t b = c->bias != NULL ? (uint32_t)c->bias[co + j] : 0u;
        corr[j] = (int32_t)(b - zp * s);
    }
}

/* The output side of a call, its constants prepared once: requantisation (per channel
 * constants are loaded per batch) and the fused ADD's, all as vectors. */
typedef struct {
    int32_t zp;
    int32x4_t lo, hi;
    int add;
    int32x4_t ls;
    int32_t z1, z2, zo;
    en_mve_rq r1, r2, ro;
    int32x4_t alo, ahi;
    const int32_t *t1, *t2;  /* en_add_quant.lut: a_1(x) at t1[x + 128], a_2(x) at t2[x + 128] */
} outq_t;

static void outq_init(outq_t *o, const en_requant *q, const en_add_quant *a) {
    o->zp = q->output_zp;
    o->lo = vdupq_n_s32(q->act_min);
    o->hi = vdupq_n_s32(q->act_max);
    o->add = a != NULL;
    /* defined even without an ADD, so no optimisation level sees an unset field */
    o->ls = o->alo = o->ahi = vdupq_n_s32(0);
    o->z1 = o->z2 = o->zo = 0;
    o->r1 = o->r2 = o->ro = en_mve_rq_dup(0, 0);
    o->t1 = o->t2 = NULL;
    if (a != NULL) {
        o->ls = vdupq_n_s32(a->left_shift);
        o->z1 = a->in1_zp;
        o->z2 = a->in2_zp;
        o->zo = a->out_zp;
        o->r1 = en_mve_rq_dup(a->in1_mult, a->in1_shift);
        o->r2 = en_mve_rq_dup(a->in2_mult, a->in2_shift);
        o->ro = en_mve_rq_dup(a->out_mult, a->out_shift);
        o->alo = vdupq_n_s32(a->act_min);
        o->ahi = vdupq_n_s32(a->act_max);
        if (a->lut != NULL) {
            o->t1 = a->lut;
            o->t2 = a->lut + 256;
        }
    }
}

static inline int32x4_t clamp_lanes(int32x4_t v, int32x4_t lo, int32x4_t hi) {
    return vminq_s32(vmaxq_s32(v, lo), hi);
}

/* Fused ADD on four lanes (en_add_elem): v = the requantised conv outputs, s = skip values. */
static inline int32x4_t add_lanes(const outq_t *o, int32x4_t v, int32x4_t s) {
    int32x4_t sum;
    if (o->t1 != NULL) {
        /* the two scaled terms from the table: one gather each, offsets x + 128 (every lane,
         * predicated-off ones included, holds an int8 value, so all offsets are in [0, 255]) */
        const uint32x4_t i1 = vreinterpretq_u32_s32(vaddq_n_s32(v, 128));
        const uint32x4_t i2 = vreinterpretq_u32_s32(vaddq_n_s32(s, 128));
        sum = vaddq_s32(vldrwq_gather_shifted_offset_s32(o->t1, i1),
                        vldrwq_gather_shifted_offset_s32(o->t2, i2));
    } else {
        const int32x4_t s1 = vshlq_s32(vsubq_n_s32(v, o->z1), o->ls);
        const int32x4_t s2 = vshlq_s32(vsubq_n_s32(s, o->z2), o->ls);
        sum = vaddq_s32(en_mve_mbqm(s1, &o->r1), en_mve_mbqm(s2, &o->r2));
    }
    return clamp_lanes(vaddq_n_s32(en_mve_mbqm(sum, &o->ro), o->zo), o->alo, o->ahi);
}

/* Requantise acc[i * stride + j], j < nb (pixel i of n, channels co..co + nb - 1), ADD skip if
 * fused, and
 * store at out[(pix + i) * C_out + co + j]. */
static void store_batch(const en_mve_conv_args *c, const outq_t *o,
                        const int32_t *acc, int32_t stride, int32_t n, size_t pix, int32_t co,
                        int32_t nb) {
    const en_requant *q = c->q;
    const int32_t cout = c->out_dims->c;
    const size_t at = pix * (size_t)cout + (size_t)co;
    const int32_t zp = o->zp;
    const int32x4_t lo = o->lo, hi = o->hi;
    for (int32_t j = 0; j < nb; j += 4) {
        const int32_t left = nb - j;
        const mve_pred16_t pr = vctp32q((uint32_t)left);
        const en_mve_rq r = left >= 4 ? en_mve_rq_channels(q, co + j) : en_mve_rq_tail(q, co + j, left);
        int8_t *y = c->out + at + (size_t)j;
        if (!o->add) {
            if (left >= 4) {
                en_mve_requant_store(acc + j, stride * 4, n, &r, zp, lo, hi, y, cout);
                continue;
            }
            for (int32_t i = 0; i < n; ++i, y += cout) {
                const int32x4_t v = vaddq_n_s32(en_mve_mbqm(vldrwq_z_s32(acc + i * stride + j, pr), &r), zp);
                vstrbq_p_s32(y, clamp_lanes(v, lo, hi), pr);
            }
            continue;
        }
        const int8_t *sk = c->skip + at + (size_t)j;
        for (int32_t i = 0; i < n; ++i, y += cout, sk += cout) {
            const int32x4_t v = vaddq_n_s32(en_mve_mbqm(vldrwq_z_s32(acc + i * stride + j, pr), &r), zp);
            /* skip is read before out is written: out may be skip */
            vstrbq_p_s32(y, add_lanes(o, clamp_lanes(v, lo, hi), vldrbq_z_s32(sk, pr)), pr);
        }
    }
}

/* Output pixels in passes of `pass` from the column buffer `col` (pass rows of the window
 * length rounded up to 16), or from the input for a pointwise conv; acc holds pass rows of
 * `batch` channels. */
static void conv_rows(const en_mve_conv_args *c, int direct, int32_t pass, int8_t *col,
                      int32_t *acc, int32_t batch) {
    const en_dims *od = c->out_dims;
    const int32_t cin = c->in_dims->c, cout = od->c;
    const int32_t taps = c->w_dims->h * c->w_dims->w * cin;
    const int32_t row_stride = (taps + 15) & ~15;
    const size_t pixels = (size_t)od->n * od->h * od->w;
    int32_t corr[CH_CHUNK];
    const int chunked = cout > CH_CHUNK;
    if (!chunked) {
        fill_corr(c, 0, cout, taps, corr);
    }
    outq_t o;
    outq_init(&o, c->q, c->a);
    fill_ctx f;
    fill_ctx_make(c, &f);
    /* A pointwise conv in place copies each pass's pixels (contiguous) into the column buffer
     * at once: its windows are the pixels themselves. */
    const int pw_copy = !direct && en_conv_is_pointwise(c->p, c->w_dims);
    const int32_t stride = pw_copy ? cin : row_stride;
    en_pix_cursor at = {0, 0, 0}; /* the next pixel to gather */
    for (size_t pix = 0; pix < pixels; pix += (size_t)pass) {
        const int32_t n = pixels - pix < (size_t)pass ? (int32_t)(pixels - pix) : pass;
        const int8_t *rows[SHORT_PIXELS]; /* the longest pass */
        if (pw_copy) {
            copy_run(col, c->in + pix * (size_t)cin, n * cin);
        }
        for (int32_t i = 0; i < pass; ++i) {
            /* a short last pass repeats its last pixel (not stored) */
            const int32_t r = i < n ? i : n - 1;
            if (direct) {
                rows[i] = c->in + (pix + (size_t)r) * (size_t)cin;
                continue;
            }
            if (i < n && !pw_copy) {
                int32_t ih0, iw0;
                en_pix_cursor_origin(c->p, &at, &ih0, &iw0);
                fill_col(&f, at.b, ih0, iw0, col + i * row_stride);
                en_pix_cursor_next(od, &at);
            }
            rows[i] = col + r * stride;
        }
        for (int32_t co0 = 0; co0 < cout; co0 += CH_CHUNK) {
            const int32_t nc = cout - co0 < CH_CHUNK ? cout - co0 : CH_CHUNK;
            if (chunked) {
                fill_corr(c, co0, nc, taps, corr);
            }
            for (int32_t j0 = 0; j0 < nc; j0 += batch) {
                const int32_t nb = nc - j0 < batch ? nc - j0 : batch;
                const int8_t *w = c->w + (size_t)(co0 + j0) * c->w_row;
                if (taps <= SHORT_TAPS) {
                    dot_short(rows, n, taps, w, c->w_row, corr + j0, nb, acc, batch);
                } else if (taps <= REG_TAPS) {
                    const int last = co0 + j0 + nb == cout;
                    for (int32_t i = 0; i < n; ++i) {
                        dot_regs(rows[i], taps, w, c->w_row, corr + j0, nb, last, acc + i * batch);
                    }
                } else {
                    /* only conv_batch's windows are this long: batch == BATCH */
                    dot_batch(rows, w, c->w_row, taps, corr + j0, nb, (int32_t(*)[BATCH])acc);
                }
                store_batch(c, &o, acc, batch, n, pix, co0 + j0, nb);
            }
        }
    }
}

/* Windows in Q registers: eight pixels a pass and 64 channels a batch, so each batch's
 * requantisation constants serve more pixels (the stack frame stays that of four pixels of
 * long windows; noinline keeps the two frames apart); windows of up to 16 values, 32 pixels
 * and 16 channels in the same buffers. */
static __attribute__((noinline)) void conv_regs(const en_mve_conv_args *c, int direct) {
    int8_t col[REG_PIXELS * REG_TAPS] __attribute__((aligned(16)));
    int32_t acc[REG_PIXELS * REG_BATCH];
    if (c->w_dims->h * c->w_dims->w * c->in_dims->c <= SHORT_TAPS) {
        conv_rows(c, direct, SHORT_PIXELS, col, acc, SHORT_BATCH);
    } else {
        conv_rows(c, direct, REG_PIXELS, col, acc, REG_BATCH);
    }
}

/* Longer windows: four pixels a pass (dot_batch). */
static __attribute__((noinline)) void conv_batch(const en_mve_conv_args *c, int direct) {
    int8_t col[PIXELS * COL_MAX] __attribute__((aligned(16)));
    int32_t acc[PIXELS * BATCH];
    conv_rows(c, direct, PIXELS, col, acc, BATCH);
}

/* One pixel at a time straight from the input: windows too long for the column buffer. */
static void conv_direct(const en_mve_conv_args *c) {
    const en_dims *id = c->in_dims, *od = c->out_dims;
    const en_requant *q = c->q;
    const int32_t cin = id->c, kh_n = c->w_dims->h, kw_n = c->w_dims->w, cout = od->c;
    const int32_t dh = c->p->dilation_h, dw = c->p->dilation_w;
    const size_t pixels = (size_t)od->n * od->h * od->w;
    en_pix_cursor at = {0, 0, 0};
    for (size_t pix = 0; pix < pixels; ++pix, en_pix_cursor_next(od, &at)) {
        int32_t ih0, iw0;
        en_pix_cursor_origin(c->p, &at, &ih0, &iw0);
        const int8_t *in_b = c->in + (size_t)at.b * id->h * id->w * cin;
        for (int32_t co = 0; co < cout; ++co) {
            const int8_t *wc = c->w + (size_t)co * c->w_row;
            int32_t dot = 0, wsum = 0;
            for (int32_t kh = 0; kh < kh_n; ++kh) {
                const int32_t ih = ih0 + kh * dh;
                if (ih < 0 || ih >= id->h) {
                    continue;
                }
                const int8_t *x = in_b + (size_t)ih * id->w * cin;
                const int8_t *wr = wc + (size_t)kh * kw_n * cin;
                if (dw == 1) {
                    int32_t lo, hi;
                    kw_range(iw0, kw_n, id->w, &lo, &hi);
                    dot = add_u32(dot, dot1(x + (ptrdiff_t)(iw0 + lo) * cin, wr + lo * cin,
                                            (hi - lo) * cin, &wsum));
                    continue;
                }
                for (int32_t kw = 0; kw < kw_n; ++kw) {
                    const int32_t iw = iw0 + kw * dw;
                    if (iw >= 0 && iw < id->w) {
                        dot = add_u32(dot, dot1(x + (size_t)iw * cin, wr + kw * cin, cin, &wsum));
                    }
                }
            }
            uint32_t acc = (uint32_t)dot - (uint32_t)q->input_zp * (uint32_t)wsum;
            acc += c->bias != NULL ? (uint32_t)c->bias[co] : 0u;
            const int32_t qc = q->per_channel ? co : 0;
            int8_t v = en_requant_s8((int32_t)acc, q->mult[qc], q->shift[qc], q->output_zp,
                                     q->act_min, q->act_max);
            const size_t i = pix * (size_t)cout + (size_t)co;
            if (c->a != NULL) {
                v = en_add_elem(c->a, v, c->skip[i]);
            }
            c->out[i] = v;
        }
    }
}

void en_mve_conv(const en_mve_conv_args *c) {
    const int32_t taps = c->w_dims->h * c->w_dims->w * c->in_dims->c;
    const int direct = en_conv_is_pointwise(c->p, c->w_dims) && c->out != c->in;
    if (taps <= REG_TAPS) {
        conv_regs(c, direct);
    } else if (direct || taps <= COL_MAX) {
        conv_batch(c, direct);
    } else {
        conv_direct(c);
    }
}
