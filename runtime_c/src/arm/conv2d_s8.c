/* ARMv7E-M build of the 2-D convolution: same contract and results as ref/conv2d_s8.c.
 *
 * Each output pixel's taps are contiguous runs of C_in bytes in both the input (NHWC) and the
 * filter (OHWI), so the work is dot products over C_in done four bytes at a time with SMLAD
 * (internal/dot_arm.h), two output channels per pass so the unpacked input is reused.
 * Accumulator bound as ref: KH*KW*C_in terms < 2^15 each; sums are exact, so the different
 * summation order cannot change a result.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/fixedpoint.h"

static inline int8_t finish(const en_requant *q, const en_add_quant *a, const int32_t *bias,
                            int32_t co, int32_t acc, const int8_t *skip, size_t i) {
    if (bias != NULL) {
        acc += bias[co];
    }
    const int32_t qc = q->per_channel ? co : 0;
    const int8_t v =
        en_requant_s8(acc, q->mult[qc], q->shift[qc], q->output_zp, q->act_min, q->act_max);
    /* skip[i] is read before the caller stores to out[i]: safe when out == skip. */
    return a == NULL ? v : en_add_elem(a, v, skip[i]);
}

/* Pointwise: each output pixel is a [C_out x C_in] matrix times one contiguous input pixel. */
static void conv_pointwise(const en_requant *q, const en_add_quant *a, const en_dims *in_dims,
                           const int8_t *in, const int8_t *w, const int32_t *bias,
                           const int8_t *skip, const en_dims *out_dims, int8_t *out) {
    const int32_t cin = in_dims->c;
    const int32_t cout = out_dims->c;
    const int32_t offset = -q->input_zp;
    const int32_t pixels = out_dims->n * out_dims->h * out_dims->w;
    for (int32_t px = 0; px < pixels; ++px) {
        const int8_t *x = in + (size_t)px * cin;
        const size_t base = (size_t)px * cout;
        int32_t co = 0;
        for (; co + 1 < cout; co += 2) {
            int32_t acc0 = 0, acc1 = 0;
            en_dot2_s8(x, w + (size_t)co * cin, w + (size_t)(co + 1) * cin, cin, offset, &acc0,
                       &acc1);
            const int8_t v0 = finish(q, a, bias, co, acc0, skip, base + co);
            const int8_t v1 = finish(q, a, bias, co + 1, acc1, skip, base + co + 1);
            out[base + co] = v0;
            out[base + co + 1] = v1;
        }
        if (co < cout) {
            const int32_t acc = en_dot_s8(x, w + (size_t)co * cin, cin, offset, 0);
            out[base + co] = finish(q, a, bias, co, acc, skip, base + co);
        }
    }
}

/* General geometry: for each output pixel, the in-bounds taps are clipped once, then each
 * output channel (pair) accumulates dot products over the C_in run of every tap. */
static void conv_general(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                         const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                         const int8_t *w, const int32_t *bias, const int8_t *skip,
                         const en_dims *out_dims, int8_t *out) {
    const int32_t cin = in_dims->c;
    const int32_t cout = out_dims->c;
    const int32_t offset = -q->input_zp;
    const size_t filter_stride = (size_t)w_dims->h * w_dims->w * cin;
    size_t i = 0;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            for (int32_t ow = 0; ow < out_dims->w; ++ow, i += (size_t)cout) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                int32_t co = 0;
                for (; co < cout; co += 2) {
                    const int pair = co + 1 < cout;
                    const int8_t *w0 = w + (size_t)co * filter_stride;
                    const int8_t *w1 = pair ? w0 + filter_stride : w0;
                    int32_t acc0 = 0, acc1 = 0;
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
                            const int8_t *x =
                                in + (((size_t)b * in_dims->h + ih) * in_dims->w + iw) * cin;
                            const size_t t = ((size_t)kh * w_dims->w + kw) * cin;
                            if (pair) {
                                en_dot2_s8(x, w0 + t, w1 + t, cin, offset, &acc0, &acc1);
                            } else {
                                acc0 = en_dot_s8(x, w0 + t, cin, offset, acc0);
                            }
                        }
                    }
                    out[i + co] = finish(q, a, bias, co, acc0, skip, i + co);
                    if (pair) {
                        out[i + co + 1] = finish(q, a, bias, co + 1, acc1, skip, i + co + 1);
                    }
                }
            }
        }
    }
}

en_status en_conv2d_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                       const int8_t *in, const en_dims *w_dims, const int8_t *w,
                       const int32_t *bias, const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, NULL, in_dims, in, w_dims, w, NULL, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    if (en_conv_is_pointwise(p, w_dims)) {
        conv_pointwise(q, NULL, in_dims, in, w, bias, NULL, out_dims, out);
    } else {
        conv_general(p, q, NULL, in_dims, in, w_dims, w, bias, NULL, out_dims, out);
    }
    return EN_OK;
}

en_status en_conv2d_add_s8(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                           const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                           const int8_t *w, const int32_t *bias, const int8_t *skip,
                           const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, a, in_dims, in, w_dims, w, skip, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    if (en_conv_is_pointwise(p, w_dims)) {
        conv_pointwise(q, a, in_dims, in, w, bias, skip, out_dims, out);
    } else {
        conv_general(p, q, a, in_dims, in, w_dims, w, bias, skip, out_dims, out);
    }
    return EN_OK;
}
