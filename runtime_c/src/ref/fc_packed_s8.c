/* Portable reference of the fully-connected layer with packed or wide weights and a folded bias
 * (kernels.h, en_fc_packed_s8 and en_fc_wide_s8):
 * out[b, o] = requant_o(bias[o] + sum_i w[o, i] * in[b, i]).
 * The sum is taken modulo 2^32 (unsigned): the folded bias may be any int32, and only the
 * final value, equal to en_fc_s8's accumulator, is bounded (kernels.h). One file for both
 * layouts, so a build replaces both entry points together (arm/fc_packed_s8.c).
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/fc_packed.h"
#include "internal/fixedpoint.h"

/* w8 (packed) or w16 (wide): exactly one is set. */
static void fc_ref(const en_requant *q, int32_t batches, int32_t in_features, const int8_t *in,
                   int32_t out_features, const int8_t *w8, const int16_t *w16,
                   const int32_t *bias, int8_t *out) {
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * in_features;
        for (int32_t o = 0; o < out_features; ++o) {
            uint32_t acc = bias != NULL ? (uint32_t)bias[o] : 0u;
            for (int32_t i = 0; i < in_features; ++i) {
                const int32_t wv = w8 != NULL
                                       ? w8[en_fc_packed_index(in_features, out_features, o, i)]
                                       : w16[en_fc_wide_index(in_features, out_features, o, i)];
                acc += (uint32_t)(wv * (int32_t)x[i]);
            }
            const int32_t qc = q->per_channel ? o : 0;
            out[(size_t)b * out_features + o] = en_requant_s8(
                (int32_t)acc, q->mult[qc], q->shift[qc], q->output_zp, q->act_min, q->act_max);
        }
    }
}

en_status en_fc_packed_s8(const en_requant *q, int32_t batches, int32_t in_features,
                          const int8_t *in, int32_t out_features, const int8_t *w,
                          const int32_t *bias, int8_t *out) {
    if (en_fc_packed_check_args(q, batches, in_features, in, out_features, w, bias, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    fc_ref(q, batches, in_features, in, out_features, w, NULL, bias, out);
    return EN_OK;
}

en_status en_fc_wide_s8(const en_requant *q, int32_t batches, int32_t in_features,
                        const int8_t *in, int32_t out_features, const int16_t *w,
                        const int32_t *bias, int8_t *out) {
    if (en_fc_packed_check_args(q, batches, in_features, in, out_features,
                                (const int8_t *)(const void *)w, bias, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    fc_ref(q, batches, in_features, in, out_features, NULL, w, bias, out);
    return EN_OK;
}
