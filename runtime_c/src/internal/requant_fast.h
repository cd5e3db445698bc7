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

#endif /* EN_INTERNAL_REQUANT_FAST_H */
