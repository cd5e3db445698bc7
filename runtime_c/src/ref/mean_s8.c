/* Global spatial MEAN (axes 1 and 2 of NHWC), exactly as TensorFlow Lite Micro's int8 MEAN runs.
 *
 * TFLM (reference_ops::QuantizedMeanOrSum) folds 1/count into the multiplier:
 *     f = min(floor(log2(count)), 32, 31 + shift);  mult' = (mult << f) / count (int64, trunc);
 *     out = clamp(MBQM(sum - input_zp * count, mult', shift - f) + output_zp, -128, 127).
 * It does so even when input and output share one quantisation: some older TFLM releases used
 * a truncating integer mean there instead, and the tflite-micro wheel we test against does not
 * (tests/runtime_c/test_kernels_vs_tflm.py::test_mean covers both cases).
 * Sum bound: count <= 2^23 (checked) values of magnitude <= 255.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"

static int floor_log2_u64(uint64_t x) {
    int r = -1;
    while (x != 0) {
        x >>= 1;
        ++r;
    }
    return r;
}

en_status en_mean_s8(const en_mean_quant *q, const en_dims *in_dims, const int8_t *in, int8_t *out) {
    if (q == NULL || in == NULL || out == NULL || en_check_dims(in_dims) != EN_OK ||
        en_check_zp(q->input_zp) != EN_OK || en_check_zp(q->output_zp) != EN_OK ||
        q->mult < 0 || q->shift < -31 || q->shift > 30) {
        return EN_ERR_ARG;
    }
    const int32_t count = in_dims->h * in_dims->w;
    if (count > (1 << 23)) {
        return EN_ERR_ARG;
    }
    const int32_t C = in_dims->c;
    if (en_overlaps(in, (size_t)en_dims_count(in_dims), out, (size_t)in_dims->n * C)) {
        return EN_ERR_ARG;
    }
    int fold = floor_log2_u64((uint64_t)count);
    fold = en_min_i32(fold, 32);
    fold = en_min_i32(fold, 31 + q->shift);
    const int32_t mult = (int32_t)(((int64_t)q->mult << fold) / count);
    const int32_t shift = q->shift - fold;

    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *plane = in + (size_t)b * count * C;
        for (int32_t c = 0; c < C; ++c) {
            int32_t sum = 0;
            for (int32_t i = 0; i < count; ++i) {
                sum += plane[(size_t)i * C + c];
            }
            const int32_t v = en_mbqm(sum - q->input_zp * count, mult, shift) + q->output_zp;
            out[(size_t)b * C + c] = (int8_t)en_clamp_i32(v, EN_INT8_MIN, EN_INT8_MAX);
        }
    }
    return EN_OK;
}
