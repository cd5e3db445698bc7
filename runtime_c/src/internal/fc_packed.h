/* The packed fully-connected weight layout (kernels.h, en_fc_packed_count) as index arithmetic,
 * shared by every build so all read the same element for (o, i). */
#ifndef EN_INTERNAL_FC_PACKED_H
#define EN_INTERNAL_FC_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"

/** int8 values of one packed row: C_in rounded up to a multiple of 4. */
static inline size_t en_fc_row_values(int32_t in_features) {
    return ((size_t)in_features + 3u) / 4u * 4u;
}

/** Size (1, 2 or 4 rows) of the group that starts at row r0 (a group start: 0, 4, ...). */
static inline int32_t en_fc_group_rows(int32_t out_features, int32_t r0) {
    const int32_t left = out_features - r0;
    return left >= 4 ? 4 : (left >= 2 ? 2 : 1);
}

/** Index of w[o, i] in the packed array. */
static inline size_t en_fc_packed_index(int32_t in_features, int32_t out_features, int32_t o,
                                        int32_t i) {
    const int32_t full = out_features & ~3;
    const int32_t r0 = o < full ? (o & ~3) : (o < full + (out_features & 2) ? full : full + (out_features & 2));
    const int32_t g = en_fc_group_rows(out_features, r0);
    return (size_t)r0 * en_fc_row_values(in_features) +
           ((size_t)(i >> 2) * (size_t)g + (size_t)(o - r0)) * 4u + (size_t)(i & 3);
}

/** Index of w[o, i] in the wide array (en_fc_wide_count): the packed index with inputs 1 and 2
 *  of each chunk swapped. */
static inline size_t en_fc_wide_index(int32_t in_features, int32_t out_features, int32_t o,
                                      int32_t i) {
    const int32_t lane = ((i & 1) << 1) | ((i >> 1) & 1);
    return en_fc_packed_index(in_features, out_features, o, (i & ~3) | lane);
}

/** en_fc_check_args, plus: a NULL (folded) bias is legal only with input_zp == 0. */
static inline en_status en_fc_packed_check_args(const en_requant *q, int32_t batches,
                                                int32_t in_features, const int8_t *in,
                                                int32_t out_features, const int8_t *w,
                                                const int32_t *bias, const int8_t *out) {
    if (en_fc_check_args(q, batches, in_features, in, out_features, w, out) != EN_OK ||
        in_features > INT32_MAX - 3 || (bias == NULL && q->input_zp != 0)) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

#endif /* EN_INTERNAL_FC_PACKED_H */
