/* ARMv7E-M build of the fully-connected layer: same contract and results as ref/fc_s8.c.
 * Rows of the [C_out, C_in] weight matrix are dot products with the input vector, two rows per
 * pass (internal/dot_arm.h). Accumulator bound as ref; exact integer sums, so order is free.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/fixedpoint.h"

static inline int8_t fc_finish(const en_requant *q, const int32_t *bias, int32_t o, int32_t acc) {
    if (bias != NULL) {
        acc += bias[o];
    }
    const int32_t qc = q->per_channel ? o : 0;
    return en_requant_s8(acc, q->mult[qc], q->shift[qc], q->output_zp, q->act_min, q->act_max);
}

en_status en_fc_s8(const en_requant *q, int32_t batches, int32_t in_features, const int8_t *in,
                   int32_t out_features, const int8_t *w, const int32_t *bias, int8_t *out) {
    if (en_fc_check_args(q, batches, in_features, in, out_features, w, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    const int32_t offset = -q->input_zp;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * in_features;
        int8_t *y = out + (size_t)b * out_features;
        int32_t o = 0;
        for (; o + 1 < out_features; o += 2) {
            int32_t acc0 = 0, acc1 = 0;
            en_dot2_s8(x, w + (size_t)o * in_features, w + (size_t)(o + 1) * in_features,
                       in_features, offset, &acc0, &acc1);
            y[o] = fc_finish(q, bias, o, acc0);
            y[o + 1] = fc_finish(q, bias, o + 1, acc1);
        }
        if (o < out_features) {
            y[o] = fc_finish(q, bias, o, en_dot_s8(x, w + (size_t)o * in_features, in_features,
                                                   offset, 0));
        }
    }
    return EN_OK;
}
