/* int8 softmax (output scale 1/256, zero point -128), TFLite's fixed-point algorithm.
 *
 * Per row: d = x - max(row). Values with d < diff_min contribute exp == 0 and output -128.
 * Otherwise d is rescaled to Q5.26 (d * input_mult << input_left_shift, high-multiplied), exp(d)
 * is evaluated in Q0.31 by gemmlowp's exp_on_negative_values, the sum is accumulated in Q12.19,
 * 1/sum comes from a Newton-Raphson reciprocal, and out = exp * (1/sum) rounded to 8 bits - 128.
 * The helpers below are written from gemmlowp's documented fixed-point semantics (FixedPoint<
 * int32, I> has 31 - I fractional bits; a * b of I1 and I2 bits is SRDHM with I1 + I2 bits).
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"

#define Q0_ONE INT32_MAX /* 1.0 saturated in Q0.31 */

/* exp(a) for a in [-1/4, 0), a and result in Q0.31: Taylor series around -1/8. */
static int32_t exp_quarter_interval(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                 /* a + 1/8 */
    const int32_t x2 = en_srdhm(x, x);
    const int32_t x3 = en_srdhm(x2, x);
    const int32_t x4 = en_srdhm(x2, x2);
    const int32_t x4_over_4 = en_rdbpot(x4, 2);
    const int32_t poly = en_rdbpot(en_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + en_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result in Q0.31 (gemmlowp exp_on_negative_values<5>). */
static int32_t exp_on_negative_q5(int32_t a) {
    enum { FRAC = 26 };
    const int32_t one_quarter = 1 << (FRAC - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
    /* Rescale Q5.26 -> Q0.31 is a saturating left shift by 5. */
    int32_t result = exp_quarter_interval(en_sat_shl(a_mod_quarter_minus_quarter, 5));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    /* exp(-2^k) in Q0.31 for k = -2 .. 4, applied for each set bit of the remainder. */
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535,   720401,     242};
    for (int k = 0; k < 7; ++k) {
        if (remainder & (INT32_C(1) << (FRAC - 2 + k))) {
            result = en_srdhm(result, factors[k]);
        }
    }
    return a == 0 ? Q0_ONE : result;
}

/* 1 / (1 + a) for a in [0, 1) in Q0.31, three Newton-Raphson steps in Q2.29. */
static int32_t one_over_one_plus_x(int32_t a) {
    /* RoundingHalfSum(a, 1.0): (a + one + sign) / 2 in int64. */
    const int64_t sum = (int64_t)a + Q0_ONE;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810;   /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540; /* -32/17 in Q2.29 */
    int32_t x = c48_17 + en_srdhm(half_denominator, cm32_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = en_srdhm(half_denominator, x);        /* Q2.29 */
        const int32_t one_minus = (1 << 29) - hdx;                 /* Q2.29 */
        x = x + en_sat_shl(en_srdhm(x, one_minus), 2);             /* Q4.27 -> Q2.29 */
    }
    /* x / 2 read as Q1.30, rescaled to Q0.31: a saturating left shift by 1. */
    return en_sat_shl(x, 1);
}

en_status en_softmax_s8(const en_softmax_params *p, int32_t rows, int32_t depth, const int8_t *in,
                        int8_t *out) {
    /* depth <= 511 keeps the Q12.19 exp-sum below 512.0, where TFLite's output exponent
     * (num_bits_over_unit + 23) would exceed 31 and its TFLITE_CHECK abort. */
    if (p == NULL || in == NULL || out == NULL || rows < 1 || depth < 1 || depth > 511 ||
        (int64_t)rows * depth > INT32_MAX || p->input_mult < 0 || p->input_left_shift < 0 ||
        p->input_left_shift > 31 || p->diff_min > 0) {
        return EN_ERR_ARG;
    }
    const size_t n = (size_t)rows * depth;
    if (out != in && en_overlaps(in, n, out, n)) {
        return EN_ERR_ARG;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = in + (size_t)r * depth;
        int8_t *y = out + (size_t)r * depth;
        int32_t max_in_row = EN_INT8_MIN;
        for (int32_t c = 0; c < depth; ++c) {
            max_in_row = en_max_i32(max_in_row, x[c]);
        }
        int32_t sum_of_exps = 0; /* Q12.19: depth <= 511 terms of <= 1.0 each, < 2^28 */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t d = x[c] - max_in_row;
            if (d >= p->diff_min) {
                const int32_t scaled = en_srdhm(en_shl_wrap(d, p->input_left_shift), p->input_mult);
                sum_of_exps += en_rdbpot(exp_on_negative_q5(scaled), 12);
            }
        }
        /* Reciprocal of the sum: normalise to [1, 2) as 1 + s, take 1 / (1 + s). */
        const int headroom_plus_one = sum_of_exps == 0 ? 32 : __builtin_clz((uint32_t)sum_of_exps);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        const int exponent = num_bits_over_unit + 31 - 8;
        /* Row values are read again below before y[c] is written: safe when out == in. */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t d = x[c] - max_in_row;
            if (d >= p->diff_min) {
                const int32_t scaled = en_srdhm(en_shl_wrap(d, p->input_left_shift), p->input_mult);
                const int32_t e = exp_on_negative_q5(scaled);
                const int32_t v = en_rdbpot(en_srdhm(shifted_scale, e), exponent) + EN_INT8_MIN;
                y[c] = (int8_t)en_clamp_i32(v, EN_INT8_MIN, EN_INT8_MAX);
            } else {
                y[c] = EN_INT8_MIN;
            }
        }
    }
    return EN_OK;
}
