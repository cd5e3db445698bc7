/* Depthwise conv of one channel from a strided plane view; see common/dw_plane.c. */
#ifndef EN_INTERNAL_DW_PLANE_H
#define EN_INTERNAL_DW_PLANE_H

#include <stddef.h>
#include <stdint.h>

#include "edgenas/kernels.h"

/** Compute channel c of the output. `src` holds the channel's N*H*W input values with element
 *  stride `src_stride` (C for the tensor itself, 1 for a scratch copy). Arguments are trusted:
 *  the caller has run en_dw_check_args. */
void en_dw_channel(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                   const int8_t *src, size_t src_stride, const en_dims *w_dims, const int8_t *w,
                   const int32_t *bias, const en_dims *out_dims, int8_t *out, int32_t c);

/** The in-place strategy: per channel, copy its plane to scratch, then compute it over `io`. */
void en_dw_in_place(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                    int8_t *io, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                    const en_dims *out_dims, int8_t *scratch);

#endif /* EN_INTERNAL_DW_PLANE_H */
