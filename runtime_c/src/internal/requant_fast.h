/* Branch-light, bit-exact forms of TFLite's requantisation for the arm build's inner loops.
 *
 * en_mbqm_fast(x, m, s) == en_mbqm(x, m, s) (fixedpoint.h) for every int32 x, every multiplier
 * 0 <= m <= INT32_MAX and every shift in [-31, 30]; runtime_c/tests/test_kernels.c checks that
 * on edge and random values. Why the shortcuts are exact:
 *
 *  - SaturatingRoundingDoublingHighMul: (ab + nudge) / 2^31 truncated toward zero, nudge = 2^30
 *    (ab >= 0) or 1 - 2^30 (ab < 0). For ab >= 0 that is floor((ab + 2^30) / 2^31). For ab < 0,
 *    n = ab + 1 - 2^30 < 0 and trunc(n / 2^31) = floor((n + 2^31 - 1) / 2^31)
 *    = floor((ab + 2^30) / 2^31): the same expression, so one SMLAL-style multiply-add and a
 *    64-bit arithmetic shift suffice. The saturating case needs a == b == INT32_MIN, and
 *    m >= 0. The result lies in [-2^31 + 1, 2^31 - 2].
 *  - RoundingDivideByPOT(y, e), e >= 1, ties away from zero: floor((y + 2^(e-1)) / 2^e) for
 *    y >= 0 and floor((y - 1 + 2^(e-1)) / 2^e) for y < 0. With floor((floor(a / 2^(e-1)) + 1) / 2)
 *    = floor((a + 2^(e-1)) / 2^e) this is ((y + (y >> 31)) >> (e - 1)) + 1) >> 1, where
 *    y + (y >> 31) is y - 1 exactly when y < 0; nothing can overflow (y > INT32_MIN, and the
 *    shifted value is at most 2^31 - 2 before the + 1).
 */
#ifndef EN_INTERNAL_REQUANT_FAST_H
#define EN_INTERNAL_REQUANT_FAST_H

#include <stdint.h>

/** round(x * m / 2^31), ties up: TFLite's SRDHM for m >= 0 (see the file comment). */
static inline int32_t en_srdhm_pos(int32_t x, int32_t m) {
    return (int32_t)(((int64_t)x * m + ((int64_t)1 << 30)) >> 31);
}

/** MultiplyByQuantizedMultiplier, bit-exact with en_mbqm for mult >= 0. */
static inline int32_t en_mbqm_fast(int32_t x, int32_t mult, int32_t shift) {
    if (shift > 0) {
        return en_srdhm_pos((int32_t)((uint32_t)x << shift), mult);
    }
    const int32_t y = en_srdhm_pos(x, mult);
    if (shift == 0) {
        return y;
    }
    return (((y + (y >> 31)) >> (-shift - 1)) + 1) >> 1;
}

/** Requantise an accumulator (bias included) to int8: en_requant_s8 with en_mbqm_fast. */
static inline int8_t en_requant_fast(int32_t acc, int32_t mult, int32_t shift, int32_t out_zp,
                                     int32_t act_min, int32_t act_max) {
    int32_t v = en_mbqm_fast(acc, mult, shift) + out_zp;
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

/** SMMULR: (a * b + 2^31) >> 32, one instruction on ARMv7E-M. With a = 2x it equals
 *  en_srdhm_pos(x, m) = floor((x * m + 2^30) / 2^31) exactly (same numerator, doubled), as long
 *  as 2x fits int32: callers use it only when |x| < 2^30 is guaranteed. */
static inline int32_t en_smmulr(int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t r;
    __asm("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#endif
}

/** SMMLAR: k + ((a * b + 2^31) >> 32), one instruction on ARMv7E-M (exact: k * 2^32 adds
 *  nothing to the low word). */
static inline int32_t en_smmlar(int32_t a, int32_t b, int32_t k) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t r;
    __asm("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(k));
    return r;
#else
    return (int32_t)(uint32_t)(((int64_t)k * 4294967296LL + (int64_t)a * b + 2147483648LL) >> 32);
#endif
}

/** en_rq_fold of a doubled accumulator s = 2 * acc (kernels that add a bias fold it in here:
 *  s = (acc << 1) + 2 * bias is one ADD with a shifted operand). s's sign is acc's. */
static inline int32_t en_rq_fold_doubled(int32_t s, int32_t mult, int32_t k, int32_t r) {
    return (en_smmlar(s, mult, k) + (s >> 31)) >> r;
}

/** en_rq_scale for a right shift r = -shift in [1, 22], zero point folded into k =
 *  (2 * output_zp + 1) << (r - 1), saturated to int8: SMMLAR, ADD, ASR, SSAT. The two halvings
 *  of en_rq_scale merge, floor((floor(a / 2^(r-1)) + c) / 2) = floor((a + c * 2^(r-1)) / 2^r)
 *  for an integer c, and y + (y >> 31) may take acc's sign instead of y's (mult >= 0: y < 0
 *  implies acc < 0, and for acc < 0 with y == 0 both round to the zero point). Same bound as
 *  en_rq_fits: 2 * acc fits int32, so |y| <= 2^30 and |k| < 2^29 never wrap. */
static inline int32_t en_rq_fold(int32_t acc, int32_t mult, int32_t k, int32_t r) {
    return en_rq_fold_doubled((int32_t)((uint32_t)acc << 1), mult, k, r);
}

/** Whether en_rq_fold serves `shift`: a right shift r = -shift in [1, 22]. */
static inline int en_rq_fold_ok(int32_t shift) { return shift < 0 && shift >= -22; }

/** en_rq_fold's k = zp2 << (r - 1) for zp2 = 2 * output_zp + 1 and r = -shift
 *  (en_rq_fold_ok(shift)). */
static inline int32_t en_rq_fold_k(int32_t zp2, int32_t shift) {
    return (int32_t)((uint32_t)zp2 << (-shift - 1));
}

/** One channel's requantisation in the SMMULR form: out = clamp(MBQM(acc) + zp), valid when
 *  |acc| * 2^max(shift, 0) < 2^30 (see en_rq_fits). Fields are derived by en_rq_make. */
typedef struct {
    int32_t mult;     /* Q31 multiplier */
    int32_t lshift;   /* max(shift, 0) + 1: TFLite's left shift, plus the doubling for SMMULR */
    int32_t rshift;   /* max(-shift, 0) - 1 (>= 0) for a rounding right shift, or -1 for none */
    int32_t zp2;      /* rshift >= 0: 2 * output_zp + 1 (zp folded into the final halving);
                         else output_zp */
    int32_t act_min;
    int32_t act_max;
} en_rq;

static inline en_rq en_rq_make(int32_t mult, int32_t shift, int32_t out_zp, int32_t act_min,
                               int32_t act_max) {
    en_rq r;
    r.mult = mult;
    r.lshift = (shift > 0 ? shift : 0) + 1;
    r.rshift = shift < 0 ? -shift - 1 : -1;
    r.zp2 = shift < 0 ? 2 * out_zp + 1 : out_zp;
    r.act_min = act_min;
    r.act_max = act_max;
    return r;
}

/** True when every |acc| <= acc_bound keeps en_rq_apply exact: acc_bound << (shift + 1) < 2^31. */
static inline int en_rq_fits(int64_t acc_bound, int32_t shift) {
    const int32_t ls = shift > 0 ? shift : 0;
    return acc_bound < ((int64_t)1 << (30 - ls));
}

/** MBQM(acc, mult, shift) + output_zp, before clamping. The rounding divide by 2^e is
 *  ((y + (y >> 31)) >> (e - 1)) + 1) >> 1 (file comment); adding 2 * zp before the final halving
 *  adds zp exactly. */
static inline int32_t en_rq_scale(const en_rq *r, int32_t acc) {
    const int32_t y = en_smmulr((int32_t)((uint32_t)acc << r->lshift), r->mult);
    if (r->rshift < 0) {
        return y + r->zp2;
    }
    return (((y + (y >> 31)) >> r->rshift) + r->zp2) >> 1;
}

static inline int8_t en_rq_apply(const en_rq *r, int32_t acc) {
    int32_t v = en_rq_scale(r, acc);
    v = v < r->act_min ? r->act_min : v;
    v = v > r->act_max ? r->act_max : v;
    return (int8_t)v;
}

#endif /* EN_INTERNAL_REQUANT_FAST_H */
