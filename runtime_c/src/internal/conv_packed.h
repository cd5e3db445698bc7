/* The packed conv filter layout (kernels.h, en_conv2d_packed_count) as index arithmetic, shared
 * by the ref and arm builds so both read exactly the same element for (co, kh, kw, ci). */
#ifndef EN_INTERNAL_CONV_PACKED_H
#define EN_INTERNAL_CONV_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "edgenas/kernels.h"

/** int16 values of one (group, kernel row): L4 / 4 blocks of 16 values. */
static inline size_t en_packed_row_values(const en_dims *w_dims) {
    const size_t row = (size_t)w_dims->w * (size_t)w_dims->c;
    return (row + 3u) / 4u * 16u;
}

/** Index of w[co, kh, kw, ci] in the packed array. */
static inline size_t en_packed_index(const en_dims *w_dims, int32_t co, int32_t kh, int32_t kw,
                                     int32_t ci) {
    static const uint8_t lane_pos[4] = {0, 2, 1, 3};
    const size_t k = (size_t)kw * (size_t)w_dims->c + (size_t)ci;
    const size_t group = (size_t)co / 4u;
    return (group * (size_t)w_dims->h + (size_t)kh) * en_packed_row_values(w_dims) +
           (k / 4u) * 16u + ((size_t)co % 4u) * 4u + lane_pos[k % 4u];
}

#endif /* EN_INTERNAL_CONV_PACKED_H */
