/* Size and argument checks of the packed fully-connected layer; shared by every build. */
#include "internal/checks.h"
#include "internal/fc_packed.h"

size_t en_fc_packed_count(int32_t in_features, int32_t out_features) {
    if (in_features < 1 || out_features < 1) {
        return 0;
    }
    return (size_t)out_features * en_fc_row_values(in_features);
}

en_status en_fc_packed_check_args(const en_requant *q, int32_t batches, int32_t in_features,
                                  const int8_t *in, int32_t out_features, const int8_t *w,
                                  const int32_t *bias, const int8_t *out) {
    if (en_fc_check_args(q, batches, in_features, in, out_features, w, out) != EN_OK ||
        in_features > INT32_MAX - 3 || (bias == NULL && q->input_zp != 0)) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}
