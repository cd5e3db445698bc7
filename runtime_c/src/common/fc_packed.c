/* Sizes of the packed and wide fully-connected layers; shared by every build. */
#include "internal/checks.h"
#include "internal/fc_packed.h"

size_t en_fc_packed_count(int32_t in_features, int32_t out_features) {
    if (in_features < 1 || out_features < 1) {
        return 0;
    }
    return (size_t)out_features * en_fc_row_values(in_features);
}

size_t en_fc_wide_count(int32_t in_features, int32_t out_features) {
    return en_fc_packed_count(in_features, out_features);
}
