/* Portable reference depthwise 2-D convolution (channel multiplier 1), optionally in place.
 *
 * out[b, oh, ow, c] = requant_c(bias[c] + sum_{kh, kw} w[kh, kw, c] * (x - input_zp)),
 * x = in[b, oh*sh - pad_top + kh*dh, ow*sw - pad_left + kw*dw, c]; out-of-bounds taps skipped.
 * Channels are processed one at a time from a strided "plane" view of the input, which is what
 * makes the in-place mode cheap: the plane is first copied to scratch (stride 1), and channel c's
 * outputs only ever land on channel c's own input bytes (offset == c mod C).
 * The loop itself is en_dw_channel (common/dw_plane.c), shared with the arm build's in-place mode.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dw_plane.h"

en_status en_dwconv2d_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                         const int8_t *in, const en_dims *w_dims, const int8_t *w,
                         const int32_t *bias, const en_dims *out_dims, int8_t *out,
                         void *scratch) {
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) != EN_OK) {
        return EN_ERR_ARG;
    }
    if (out == in) {
        en_dw_in_place(p, q, in_dims, out, w_dims, w, bias, out_dims, (int8_t *)scratch);
        return EN_OK;
    }
    for (int32_t c = 0; c < in_dims->c; ++c) {
        en_dw_channel(p, q, in_dims, in + c, (size_t)in_dims->c, w_dims, w, bias, out_dims, out, c);
    }
    return EN_OK;
}

/* No strategy of its own for strided windows in this build (see kernels.h). */
en_status en_dwconv2d_strided_s8(const en_conv_params *p, const en_requant *q,
                                 const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                                 const int8_t *w, const int32_t *bias, const en_dims *out_dims,
                                 int8_t *out, void *scratch) {
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
