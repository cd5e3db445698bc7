/* Reference build of en_dwconv2d_kx1_long_s8 (see kernels.h): its own file, as in the arm
 * build. No strategy of its own for long Kx1 kernels here. */
#include "edgenas/kernels.h"

en_status en_dwconv2d_kx1_long_s8(const en_conv_params *p, const en_requant *q,
                                  const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                                  const int8_t *w, const int32_t *bias, const en_dims *out_dims,
                                  int8_t *out, void *scratch) {
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
