/* Fixed-point primitives shared by every kernel variant (ref and arm).
 *
 * These are the integer operations TFLite's reference kernels are built from; every kernel's
 * bit-exactness with TFLite Micro rests on them, so they are written once, here.
 * Conventions: int32 arithmetic that could overflow is done in int64 or uint32 (wrapping is
 * then well defined); right shifts of negative values are arithmetic (true for GCC and Clang,
 * which are the only compilers the build supports).
 */
#ifndef EN_INTERNAL_FIXEDPOINT_H
#define EN_INTERNAL_FIXEDPOINT_H

#include <stdint.h>

#include "edgenas/kernels.h"

#define EN_INT8_MIN (-128)
#define EN_INT8_MAX 127

static inline int32_t en_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t en_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t en_clamp_i32(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/** round(a * b / 2^31) with ties away from zero, saturating the single overflow case
 *  (a == b == INT32_MIN). gemmlowp's SaturatingRoundingDoublingHighMul: the int64 product
 *  plus the nudge is divided (truncating toward zero), not shifted. */
static inline int32_t en_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/** x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31]. */
static inline int32_t en_rdbpot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** x << shift, wrapping like the two's complement multiply TFLite performs. */
static inline int32_t en_shl_wrap(int32_t x, int shift) {
    return (int32_t)((uint32_t)x << shift);
}

/** TFLite MultiplyByQuantizedMultiplier (double rounding): x * mult * 2^shift / 2^31.
 *  shift > 0 is applied to x before the high multiply, shift < 0 after it. */
static inline int32_t en_mbqm(int32_t x, int32_t mult, int32_t shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return en_rdbpot(en_srdhm(en_shl_wrap(x, left), mult), right);
}

/** x * 2^exponent saturated to int32 (gemmlowp SaturatingRoundingMultiplyByPOT, exponent > 0). */
static inline int32_t en_sat_shl(int32_t x, int exponent) {
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return en_shl_wrap(x, exponent);
}

/** Requantise one accumulator to the int8 output domain (conv, depthwise, FC). */
static inline int8_t en_requant_s8(int32_t acc, int32_t mult, int32_t shift, int32_t out_zp,
                                   int32_t act_min, int32_t act_max) {
    const int32_t v = en_mbqm(acc, mult, shift) + out_zp;
    return (int8_t)en_clamp_i32(v, act_min, act_max);
}

/** One element of TFLite int8 ADD (reference_integer_ops::AddElementwise). */
static inline int8_t en_add_elem(const en_add_quant *a, int32_t x1, int32_t x2) {
    const int32_t s1 = en_shl_wrap(x1 - a->in1_zp, a->left_shift);
    const int32_t s2 = en_shl_wrap(x2 - a->in2_zp, a->left_shift);
    const int32_t r1 = en_mbqm(s1, a->in1_mult, a->in1_shift);
    const int32_t r2 = en_mbqm(s2, a->in2_mult, a->in2_shift);
    const int32_t v = en_mbqm(r1 + r2, a->out_mult, a->out_shift) + a->out_zp;
    return (int8_t)en_clamp_i32(v, a->act_min, a->act_max);
}

#endif /* EN_INTERNAL_FIXEDPOINT_H */
