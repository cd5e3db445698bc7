/* The channel-plane depthwise loop shared by ref/ and arm/ (arm uses it for in-place calls).
 *
 * out[b, oh, ow, c] = requant_c(bias[c] + sum_{kh, kw} w[kh, kw, c] * (x - input_zp)), with
 * x read from a plane view of channel c and out-of-bounds taps skipped (zero-point padding).
 * Accumulator bound: KH*KW terms of magnitude < 2^15 each; see kernels.h.
 */
#include "internal/dw_plane.h"

#include "internal/checks.h"
#include "internal/fixedpoint.h"

/* One channel: `src` holds its N*H*W input values with element stride `src_stride`. */
void en_dw_channel(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                       const int8_t *src, size_t src_stride, const en_dims *w_dims,
                       const int8_t *w, const int32_t *bias, const en_dims *out_dims, int8_t *out,
                       int32_t c) {
    const int32_t C = in_dims->c;
    const int32_t qc = q->per_channel ? c : 0;
    const int32_t mult = q->mult[qc];
    const int32_t shift = q->shift[qc];
    for (int32_t b = 0; b < out_dims->n; ++b) {
        const int8_t *plane = src + (size_t)b * in_dims->h * in_dims->w * src_stride;
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                int32_t acc = 0;
                for (int32_t kh = 0; kh < w_dims->h; ++kh) {
                    const int32_t ih = ih0 + kh * p->dilation_h;
                    if (ih < 0 || ih >= in_dims->h) {
                        continue;
                    }
                    for (int32_t kw = 0; kw < w_dims->w; ++kw) {
                        const int32_t iw = iw0 + kw * p->dilation_w;
                        if (iw < 0 || iw >= in_dims->w) {
                            continue;
                        }
                        const int32_t x = plane[((size_t)ih * in_dims->w + iw) * src_stride];
                        const int32_t k = w[((size_t)kh * w_dims->w + kw) * C + c];
                        acc += k * (x - q->input_zp);
                    }
                }
                if (bias != NULL) {
                    acc += bias[c];
                }
                const size_t o = (((size_t)b * out_dims->h + oh) * out_dims->w + ow) * C + c;
                out[o] = en_requant_s8(acc, mult, shift, q->output_zp, q->act_min, q->act_max);
            }
        }
    }
}

void en_dw_in_place(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                    int8_t *io, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                    const en_dims *out_dims, int8_t *scratch) {
    const int32_t C = in_dims->c;
    const size_t plane = (size_t)in_dims->n * in_dims->h * in_dims->w;
    for (int32_t c = 0; c < C; ++c) {
        for (size_t i = 0; i < plane; ++i) {
            scratch[i] = io[i * C + c];
        }
        /* Writes of channel c land on offsets == c (mod C): only on bytes now in scratch. */
        en_dw_channel(p, q, in_dims, scratch, 1, w_dims, w, bias, out_dims, io, c);
    }
}

/* Shared by every build so the planner-visible scratch size never depends on the variant. */
size_t en_dwconv2d_s8_scratch_bytes(const en_dims *in_dims, int in_place) {
    if (!in_place || en_check_dims(in_dims) != EN_OK) {
        return 0;
    }
    return (size_t)in_dims->n * in_dims->h * in_dims->w;
}
