/* Portable reference fully-connected layer (int8, per-tensor or per-channel requantisation).
 *
 * out[b, o] = requant_o(bias[o] + sum_i w[o, i] * (in[b, i] - input_zp)), TFLite's
 * reference_integer_ops::FullyConnected with symmetric (zero-point 0) weights.
 * Accumulator bound: in_features terms of magnitude < 2^15; see kernels.h.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"

en_status en_fc_s8(const en_requant *q, int32_t batches, int32_t in_features, const int8_t *in,
                   int32_t out_features, const int8_t *w, const int32_t *bias, int8_t *out) {
    if (en_fc_check_args(q, batches, in_features, in, out_features, w, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * in_features;
        for (int32_t o = 0; o < out_features; ++o) {
            const int8_t *k = w + (size_t)o * in_features;
            int32_t acc = 0;
            for (int32_t i = 0; i < in_features; ++i) {
                acc += (int32_t)k[i] * ((int32_t)x[i] - q->input_zp);
            }
            if (bias != NULL) {
                acc += bias[o];
            }
            const int32_t qc = q->per_channel ? o : 0;
            out[(size_t)b * out_features + o] = en_requant_s8(
                acc, q->mult[qc], q->shift[qc], q->output_zp, q->act_min, q->act_max);
        }
    }
    return EN_OK;
}
