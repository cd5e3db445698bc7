/* en_dwconv2d_3x3_s8 in the Helium build: this build's own depthwise kernel (mve/dwconv2d_s8.c)
 * takes 3x3 windows too, so the entry point is en_dwconv2d_s8 (this file replaces
 * arm/dwconv3x3_s8.c, whose ARMv7E-M strategy would otherwise be linked in its place). */
#include "edgenas/kernels.h"
#include "mve/mve.h" /* refuses a core without Helium */
#include "internal/dw3x3_plan.h"

en_status en_dwconv2d_3x3_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                             const int8_t *in, const en_dims *w_dims, const int8_t *w,
                             const int32_t *bias, const en_dims *out_dims, int8_t *out,
                             void *scratch) {
    return en_dwconv2d_3x3_other(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
