/* The packed conv filter layout (kernels.h, en_conv2d_packed_count) as index arithmetic, shared
 * by the ref and arm builds so both read exactly the same element for (co, kh, kw, ci). */
#ifndef EN_INTERNAL_CONV_PACKED_H
#define EN_INTERNAL_CONV_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "edgenas/kernels.h"

/** int8 values of one output channel's row: L = KH * KW * C_in rounded up to a multiple of 4. */
static inline size_t en_packed_row_values(const en_dims *w_dims) {
    const size_t row = (size_t)w_dims->h * (size_t)w_dims->w * (size_t)w_dims->c;
    return (row + 3u) / 4u * 4u;
}

/** Index of w[co, kh, kw, ci] in the packed array. */
static inline size_t en_packed_index(const en_dims *w_dims, int32_t co, int32_t kh, int32_t kw,
                                     int32_t ci) {
    const size_t k = ((size_t)kh * (size_t)w_dims->w + (size_t)kw) * (size_t)w_dims->c + (size_t)ci;
    return (size_t)co * en_packed_row_values(w_dims) + k;
}

#endif /* EN_INTERNAL_CONV_PACKED_H */
