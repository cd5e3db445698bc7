/* Helium (MVE) build of en_dwconv2d_kx1_long_s8 (see kernels.h): its own file, as in the arm
 * build. The Helium depthwise engine runs long Kx1 kernels faster than the arm build's row pairs
 * (mcu_vs_tflm's 5x1 and 10x1 layers on the M55: 2.6 / 1.8 instructions per MAC against 6.8 /
 * 4.2), so it takes them here. */
#include "edgenas/kernels.h"
#include "mve/mve.h" /* refuses a core without Helium */

en_status en_dwconv2d_kx1_long_s8(const en_conv_params *p, const en_requant *q,
                                  const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                                  const int8_t *w, const int32_t *bias, const en_dims *out_dims,
                                  int8_t *out, void *scratch) {
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
