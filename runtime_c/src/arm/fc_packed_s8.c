/* ARMv7E-M build of the fully-connected layer with packed weights and a folded bias: same
 * contract and results as ref/fc_packed_s8.c.
 *
 * The input is sign-extended once per call into int16 pairs, (x0, x2) and (x1, x3) per four
 * values, the lanes SXTB16 gives a weight word and its rotation by 8, so each SMLAD pairs them
 * directly. A group of four rows then costs per four inputs one LDM of its four weight words
 * (the packed layout puts them side by side), one LDRD of the input pairs, two SXTB16 and two
 * SMLAD per row, and the loop branch every second chunk: 39 instructions per 32 MACs. A group of
 * two rows (the C_out % 4 rows left over) loads both rows' words with one LDRD; a single row
 * runs from C. Requantisation runs after each group, outside the sums, in the SMMULR form when
 * the accumulators allow it (requant_fast.h), else the exact 64-bit form, and a group's four
 * bytes are clamped together (SSUB8/SEL) and stored as one word. Inputs longer than FC_SLICE
 * are expanded slice by slice, per group (slower, and rare on a microcontroller).
 * Exactness: every product and partial sum is an integer evaluated modulo 2^32 (SMLAD wraps, the
 * C sums are unsigned); the final sum is en_fc_s8's accumulator, which its bound keeps in int32.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/dot_arm.h"
#include "internal/fc_packed.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

/* Inputs expanded per slice: 4 bytes of int16 pairs per 4 inputs, 2 KB of stack. */
#define FC_SLICE 1024

/* Lanes (lo, hi) of two int16 values as one word. */
static inline uint32_t pair16(int32_t lo, int32_t hi) {
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

#if EN_HAVE_DSP
/* SXTB16 of bytes 1 and 3: one instruction with the rotation folded in. */
static inline int32_t sxtb16_ror8(uint32_t v) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
#else
    return __sxtb16((int8x4_t)en_ror8(v));
#endif
}

/* acc += w * x for one weight word and its input pairs (two SXTB16, two SMLAD). */
static inline int32_t mac4(int32_t acc, uint32_t w, uint32_t xa, uint32_t xb) {
    acc = __smlad(__sxtb16((int8x4_t)w), (int16x2_t)xa, acc);
    return __smlad(sxtb16_ror8(w), (int16x2_t)xb, acc);
}
#else
static inline int32_t mac4(int32_t acc, uint32_t w, uint32_t xa, uint32_t xb) {
    /* byte k of the (little-endian) weight word is weight k of the chunk */
    uint32_t a = (uint32_t)acc;
    a += (uint32_t)((int8_t)(w & 0xFFu) * (int32_t)(int16_t)(xa & 0xFFFFu)) +
         (uint32_t)((int8_t)((w >> 16) & 0xFFu) * (int32_t)(int16_t)(xa >> 16));
    a += (uint32_t)((int8_t)((w >> 8) & 0xFFu) * (int32_t)(int16_t)(xb & 0xFFFFu)) +
         (uint32_t)((int8_t)(w >> 24) * (int32_t)(int16_t)(xb >> 16));
    return (int32_t)a;
}
#endif

/* xs[2k] = (x[4k], x[4k+2]), xs[2k+1] = (x[4k+1], x[4k+3]) for the n inputs, zeros past them. */
static void expand_input(const int8_t *x, int32_t n, uint32_t *xs) {
    for (; n >= 4; n -= 4, x += 4, xs += 2) {
#if EN_HAVE_DSP
        const uint32_t v = en_read_u32(x);
        xs[0] = (uint32_t)__sxtb16((int8x4_t)v);
        xs[1] = (uint32_t)sxtb16_ror8(v);
#else
        xs[0] = pair16(x[0], x[2]);
        xs[1] = pair16(x[1], x[3]);
#endif
    }
    if (n > 0) {
        const int32_t x1 = n > 1 ? x[1] : 0, x2 = n > 2 ? x[2] : 0;
        xs[0] = pair16(x[0], x2);
        xs[1] = pair16(x1, 0);
    }
}

/* Four rows over n >= 1 chunks of four inputs: wp holds 16 bytes per chunk (rows 0-3). */
static inline __attribute__((always_inline)) void dot_rows4(const int8_t *wp, const uint32_t *xs,
                                                            int32_t n, int32_t *p0, int32_t *p1,
                                                            int32_t *p2, int32_t *p3) {
    int32_t a0 = *p0, a1 = *p1, a2 = *p2, a3 = *p3;
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP) && defined(__OPTIMIZE__)
    /* LDM needs its registers in ascending order: the weight words are pinned to r8-r11. */
    register uint32_t w0 __asm("r8");
    register uint32_t w1 __asm("r9");
    register uint32_t w2 __asm("r10");
    register uint32_t w3 __asm("r11");
    uint32_t xa, xb, t;
    /* Two chunks per pass (an odd count starts with one): 39 instructions per 32 MACs. */
    __asm volatile(
        "tst %[n], #1\n\t"
        "beq 2f\n\t"
        "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"
        "ldrd %[xa], %[xb], [%[xs]], #8\n\t"
        "sxtb16 %[t], %[w0]\n\t"
        "smlad %[a0], %[t], %[xa], %[a0]\n\t"
        "sxtb16 %[w0], %[w0], ror #8\n\t"
        "smlad %[a0], %[w0], %[xb], %[a0]\n\t"
        "sxtb16 %[t], %[w1]\n\t"
        "smlad %[a1], %[t], %[xa], %[a1]\n\t"
        "sxtb16 %[w1], %[w1], ror #8\n\t"
        "smlad %[a1], %[w1], %[xb], %[a1]\n\t"
        "sxtb16 %[t], %[w2]\n\t"
        "smlad %[a2], %[t], %[xa], %[a2]\n\t"
        "sxtb16 %[w2], %[w2], ror #8\n\t"
        "smlad %[a2], %[w2], %[xb], %[a2]\n\t"
        "sxtb16 %[t], %[w3]\n\t"
        "smlad %[a3], %[t], %[xa], %[a3]\n\t"
        "sxtb16 %[w3], %[w3], ror #8\n\t"
        "smlad %[a3], %[w3], %[xb], %[a3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "beq 3f\n"
        "2:\n\t"
        "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"
        "ldrd %[xa], %[xb], [%[xs]], #8\n\t"
        "sxtb16 %[t], %[w0]\n\t"
        "smlad %[a0], %[t], %[xa], %[a0]\n\t"
        "sxtb16 %[w0], %[w0], ror #8\n\t"
        "smlad %[a0], %[w0], %[xb], %[a0]\n\t"
        "sxtb16 %[t], %[w1]\n\t"
        "smlad %[a1], %[t], %[xa], %[a1]\n\t"
        "sxtb16 %[w1], %[w1], ror #8\n\t"
        "smlad %[a1], %[w1], %[xb], %[a1]\n\t"
        "sxtb16 %[t], %[w2]\n\t"
        "smlad %[a2], %[t], %[xa], %[a2]\n\t"
        "sxtb16 %[w2], %[w2], ror #8\n\t"
        "smlad %[a2], %[w2], %[xb], %[a2]\n\t"
        "sxtb16 %[t], %[w3]\n\t"
        "smlad %[a3], %[t], %[xa], %[a3]\n\t"
        "sxtb16 %[w3], %[w3], ror #8\n\t"
        "smlad %[a3], %[w3], %[xb], %[a3]\n\t"
        "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"
        "ldrd %[xa], %[xb], [%[xs]], #8\n\t"
        "sxtb16 %[t], %[w0]\n\t"
        "smlad %[a0], %[t], %[xa], %[a0]\n\t"
        "sxtb16 %[w0], %[w0], ror #8\n\t"
        "smlad %[a0], %[w0], %[xb], %[a0]\n\t"
        "sxtb16 %[t], %[w1]\n\t"
        "smlad %[a1], %[t], %[xa], %[a1]\n\t"
        "sxtb16 %[w1], %[w1], ror #8\n\t"
        "smlad %[a1], %[w1], %[xb], %[a1]\n\t"
        "sxtb16 %[t], %[w2]\n\t"
        "smlad %[a2], %[t], %[xa], %[a2]\n\t"
        "sxtb16 %[w2], %[w2], ror #8\n\t"
        "smlad %[a2], %[w2], %[xb], %[a2]\n\t"
        "sxtb16 %[t], %[w3]\n\t"
        "smlad %[a3], %[t], %[xa], %[a3]\n\t"
        "sxtb16 %[w3], %[w3], ror #8\n\t"
        "smlad %[a3], %[w3], %[xb], %[a3]\n\t"
        "subs %[n], %[n], #2\n\t"
        "bne 2b\n"
        "3:\n"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [wp] "+r"(wp),
          [xs] "+r"(xs), [n] "+r"(n), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2),
          [w3] "=&r"(w3), [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t)
        :
        : "cc", "memory");
#else
    for (; n > 0; --n, wp += 16, xs += 2) {
        const uint32_t xa = xs[0], xb = xs[1];
        a0 = mac4(a0, en_read_u32(wp), xa, xb);
        a1 = mac4(a1, en_read_u32(wp + 4), xa, xb);
        a2 = mac4(a2, en_read_u32(wp + 8), xa, xb);
        a3 = mac4(a3, en_read_u32(wp + 12), xa, xb);
    }
#endif
    *p0 = a0;
    *p1 = a1;
    *p2 = a2;
    *p3 = a3;
}

/* Two rows (g == 2) or one (g == 1) over n chunks: wp holds 4 * g bytes per chunk. */
static void dot_rows_small(const int8_t *wp, const uint32_t *xs, int32_t n, int32_t g,
                           int32_t acc[2]) {
    int32_t a0 = acc[0], a1 = acc[1];
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP) && defined(__OPTIMIZE__)
    if (g == 2) { /* per chunk: LDRD of both rows' words, LDRD of the input pairs, 4 + 4 */
        uint32_t w0, w1, xa, xb, t;
        __asm volatile(
            "1:\n\t"
            "ldrd %[w0], %[w1], [%[wp]], #8\n\t"
            "ldrd %[xa], %[xb], [%[xs]], #8\n\t"
            "sxtb16 %[t], %[w0]\n\t"
            "smlad %[a0], %[t], %[xa], %[a0]\n\t"
            "sxtb16 %[w0], %[w0], ror #8\n\t"
            "smlad %[a0], %[w0], %[xb], %[a0]\n\t"
            "sxtb16 %[t], %[w1]\n\t"
            "smlad %[a1], %[t], %[xa], %[a1]\n\t"
            "sxtb16 %[w1], %[w1], ror #8\n\t"
            "smlad %[a1], %[w1], %[xb], %[a1]\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n"
            : [a0] "+r"(a0), [a1] "+r"(a1), [wp] "+r"(wp), [xs] "+r"(xs), [n] "+r"(n),
              [w0] "=&r"(w0), [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t)
            :
            : "cc", "memory");
    } else
#else
    if (g == 2) {
        for (; n > 0; --n, wp += 8, xs += 2) {
            const uint32_t xa = xs[0], xb = xs[1];
            a0 = mac4(a0, en_read_u32(wp), xa, xb);
            a1 = mac4(a1, en_read_u32(wp + 4), xa, xb);
        }
    } else
#endif
    {
        for (; n > 0; --n, wp += 4, xs += 2) {
            a0 = mac4(a0, en_read_u32(wp), xs[0], xs[1]);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* Requantisation constants of one channel (or of a per-tensor quantisation), SMMULR form. */
typedef struct {
    int32_t mult;
    int32_t lshift; /* max(shift, 0) + 1 */
    int32_t rshift; /* -shift - 1 when shift < 0, else -1 (no right shift) */
    uint32_t lim;   /* 2^(30 - max(shift, 0)): the SMMULR form is exact for |acc| <= lim */
} fc_rq;

static inline fc_rq fc_rq_make(int32_t mult, int32_t shift) {
    fc_rq r;
    r.mult = mult;
    r.lshift = (shift > 0 ? shift : 0) + 1;
    r.rshift = shift < 0 ? -shift - 1 : -1;
    r.lim = 1u << (30 - (shift > 0 ? shift : 0));
    return r;
}

/* |acc| <= lim, lim a power of two: acc ^ (acc >> 31) is |acc| for acc >= 0 and |acc| - 1
 * below, so an OR of such terms is < lim exactly when each is; then acc << lshift lies in
 * [-2^31, 2^31 - 1] and SMMULR is exact (requant_fast.h, en_rq_fits; -2^31 is also fine, as
 * SMMULR multiplies exactly). */
static inline uint32_t fc_mag(int32_t acc) {
    return (uint32_t)(acc ^ (acc >> 31));
}

/* MBQM(acc) + output_zp in the SMMULR form (requant_fast.h, en_rq_scale), clamped to int8 by
 * SSAT, which also takes the final halving of the rounding shift. */
static inline int32_t fc_scale(const fc_rq *r, int32_t zp, int32_t zp2, int32_t acc) {
    const int32_t y = en_smmulr((int32_t)((uint32_t)acc << r->lshift), r->mult);
#if EN_HAVE_DSP
    if (r->rshift < 0) {
        return en_ssat8(y + zp);
    }
    return en_ssat8((((y + (y >> 31)) >> r->rshift) + zp2) >> 1);
#else
    const int32_t v = r->rshift < 0 ? y + zp : (((y + (y >> 31)) >> r->rshift) + zp2) >> 1;
    return en_clamp_i32(v, EN_INT8_MIN, EN_INT8_MAX);
#endif
}

/* Each of the four int8 lanes of v clamped to [lo, hi]: SSUB8 sets a lane's GE flag when the
 * lane's exact difference is >= 0, and SEL then keeps that lane or takes the bound's. */
static inline uint32_t clamp4_s8(uint32_t v, int32_t lo, int32_t hi) {
    const uint32_t lo4 = ((uint32_t)lo & 0xFFu) * 0x01010101u, hi4 = ((uint32_t)hi & 0xFFu) * 0x01010101u;
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    uint32_t t;
    __asm("ssub8 %[t], %[v], %[lo]\n\t"
          "sel %[v], %[v], %[lo]\n\t"
          "ssub8 %[t], %[hi], %[v]\n\t"
          "sel %[v], %[v], %[hi]"
          : [v] "+r"(v), [t] "=&r"(t)
          : [lo] "r"(lo4), [hi] "r"(hi4)
          : "cc");
    return v;
#else
    (void)lo4;
    (void)hi4;
    uint32_t r = 0;
    for (int k = 0; k < 4; ++k) {
        const int32_t b = (int8_t)((v >> (8 * k)) & 0xFFu);
        r |= ((uint32_t)en_clamp_i32(b, lo, hi) & 0xFFu) << (8 * k);
    }
    return r;
#endif
}

/* y[j] = requant(acc[j]) for the n outputs of rows o..o+n-1: the general case (per channel,
 * or an accumulator too large for the SMMULR form). */
static void __attribute__((noinline)) fc_store(const en_requant *q, int32_t o,
                                               const int32_t *acc, int32_t n, int8_t *y) {
    const int32_t zp = q->output_zp, zp2 = 2 * zp + 1, lo = q->act_min, hi = q->act_max;
    for (int32_t j = 0; j < n; ++j) {
        const int32_t qc = q->per_channel ? o + j : 0;
        const fc_rq r = fc_rq_make(q->mult[qc], q->shift[qc]);
        int32_t v;
        if (fc_mag(acc[j]) < r.lim) {
            v = en_clamp_i32(fc_scale(&r, zp, zp2, acc[j]), lo, hi);
        } else {
            v = en_requant_fast(acc[j], q->mult[qc], q->shift[qc], zp, lo, hi);
        }
        y[o + j] = (int8_t)v;
    }
}

/* Four outputs of a per-tensor requantisation r: one range check for the group. */
static inline void fc_store4(const en_requant *q, const fc_rq *r, int32_t o, int32_t a0,
                             int32_t a1, int32_t a2, int32_t a3, int8_t *y) {
    if (q->per_channel || (fc_mag(a0) | fc_mag(a1) | fc_mag(a2) | fc_mag(a3)) >= r->lim) {
        const int32_t acc[4] = {a0, a1, a2, a3};
        fc_store(q, o, acc, 4, y);
        return;
    }
    const int32_t zp = q->output_zp, zp2 = 2 * zp + 1, lo = q->act_min, hi = q->act_max;
    const int32_t v0 = fc_scale(r, zp, zp2, a0), v1 = fc_scale(r, zp, zp2, a1);
    const int32_t v2 = fc_scale(r, zp, zp2, a2), v3 = fc_scale(r, zp, zp2, a3);
    uint32_t v = ((uint32_t)v0 & 0xFFu) | (((uint32_t)v1 & 0xFFu) << 8) |
                 (((uint32_t)v2 & 0xFFu) << 16) | ((uint32_t)v3 << 24);
    if (lo > EN_INT8_MIN || hi < EN_INT8_MAX) {
        v = clamp4_s8(v, lo, hi);
    }
    __builtin_memcpy(y + o, &v, sizeof v); /* one (unaligned) word store */
}

/* The groups of four rows, rows 0 .. 4 * ngroups - 1, on an input expanded once into xs. */
static void __attribute__((noinline)) groups4(const en_requant *q, const int8_t *w, size_t row,
                                              const uint32_t *xs, int32_t chunks,
                                              int32_t ngroups, const int32_t *bias, int8_t *y) {
    const fc_rq r = fc_rq_make(q->mult[0], q->shift[0]);
    for (int32_t k = 0; k < ngroups; ++k, w += 4 * row) {
        const int32_t o = 4 * k;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (bias != NULL) {
            a0 = bias[o];
            a1 = bias[o + 1];
            a2 = bias[o + 2];
            a3 = bias[o + 3];
        }
        dot_rows4(w, xs, chunks, &a0, &a1, &a2, &a3);
        fc_store4(q, &r, o, a0, a1, a2, a3, y);
    }
}

/* One group of g rows starting at row o: the leftover groups of 2 and 1, and every group of an
 * input longer than a slice, whose input is expanded again slice by slice for each group. */
static void __attribute__((noinline)) group_any(const en_requant *q, const int8_t *x,
                                                int32_t in_features, const int8_t *wg,
                                                int32_t o, int32_t g, uint32_t *xs,
                                                int expanded, const int32_t *bias, int8_t *y) {
    int32_t acc[4] = {0, 0, 0, 0};
    if (bias != NULL) {
        for (int32_t j = 0; j < g; ++j) {
            acc[j] = bias[o + j];
        }
    }
    for (int32_t s = 0; s < in_features; s += FC_SLICE) {
        const int32_t len = in_features - s < FC_SLICE ? in_features - s : FC_SLICE;
        if (!expanded) {
            expand_input(x + s, len, xs);
        }
        const int8_t *wp = wg + (size_t)s * (size_t)g; /* s / 4 chunks of 4 * g bytes */
        if (g == 4) {
            dot_rows4(wp, xs, (len + 3) / 4, &acc[0], &acc[1], &acc[2], &acc[3]);
        } else {
            dot_rows_small(wp, xs, (len + 3) / 4, g, acc);
        }
    }
    fc_store(q, o, acc, g, y);
}

en_status en_fc_packed_s8(const en_requant *q, int32_t batches, int32_t in_features,
                          const int8_t *in, int32_t out_features, const int8_t *w,
                          const int32_t *bias, int8_t *out) {
    if (en_fc_packed_check_args(q, batches, in_features, in, out_features, w, bias, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    uint32_t xs[FC_SLICE / 2];
    const size_t row = en_fc_row_values(in_features);
    const int expanded = in_features <= FC_SLICE;
    const int32_t full = out_features & ~3;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * in_features;
        int8_t *y = out + (size_t)b * out_features;
        int32_t o = 0;
        if (expanded) {
            expand_input(x, in_features, xs);
            groups4(q, w, row, xs, (in_features + 3) / 4, full / 4, bias, y);
            o = full;
        }
        while (o < out_features) {
            const int32_t g = en_fc_group_rows(out_features, o);
            group_any(q, x, in_features, w + (size_t)o * row, o, g, xs, expanded, bias, y);
            o += g;
        }
    }
    return EN_OK;
}
