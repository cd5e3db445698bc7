/* en_dwconv2d_3x3_s8 in the reference build: no strategy of its own (see kernels.h); the arm
 * build replaces this file with arm/dwconv3x3_s8.c, the mve build with mve/dwconv3x3_s8.c. */
#include "edgenas/kernels.h"
#include "internal/dw3x3_plan.h"

en_status en_dwconv2d_3x3_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                             const int8_t *in, const en_dims *w_dims, const int8_t *w,
                             const int32_t *bias, const en_dims *out_dims, int8_t *out,
                             void *scratch) {
    return en_dwconv2d_3x3_other(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
