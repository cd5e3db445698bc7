/* Portable reference conv with packed filters: ref/conv2d_s8.c's arithmetic, reading each weight
 * through the packed index (internal/conv_packed.h). Slow on purpose; the arm build must match.
 *
 * out[b, oh, ow, co] = requant(bias[co] + sum_{kh, kw, ci} w[co, kh, kw, ci] * (x - input_zp)),
 * out-of-bounds taps skipped; with `a` the result is then ADDed to skip[i] (see kernels.h).
 * Accumulator bound as en_conv2d_s8.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/conv_packed.h"
#include "internal/fixedpoint.h"

static void conv_packed_run(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                            const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                            const int8_t *w, const int32_t *bias, const int8_t *skip,
                            const en_dims *out_dims, int8_t *out) {
    const int32_t cin = in_dims->c;
    size_t i = 0;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                for (int32_t co = 0; co < out_dims->c; ++co, ++i) {
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
                            const int8_t *x =
                                in + (((size_t)b * in_dims->h + ih) * in_dims->w + iw) * cin;
                            for (int32_t ci = 0; ci < cin; ++ci) {
                                const int32_t k = w[en_packed_index(w_dims, co, kh, kw, ci)];
                                acc += k * ((int32_t)x[ci] - q->input_zp);
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[co];
                    }
                    const int32_t qc = q->per_channel ? co : 0;
                    const int8_t v = en_requant_s8(acc, q->mult[qc], q->shift[qc], q->output_zp,
                                                   q->act_min, q->act_max);
                    /* skip[i] is read before out[i] is written: safe when out == skip. */
                    out[i] = a == NULL ? v : en_add_elem(a, v, skip[i]);
                }
            }
        }
    }
}

en_status en_conv2d_packed_s8(const en_conv_params *p, const en_requant *q,
                              const en_dims *in_dims, const int8_t *in,
                              const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                              const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, NULL, in_dims, in, w_dims, w, NULL, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    conv_packed_run(p, q, NULL, in_dims, in, w_dims, w, bias, NULL, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_add_packed_s8(const en_conv_params *p, const en_requant *q,
                                  const en_add_quant *a, const en_dims *in_dims,
                                  const int8_t *in, const en_dims *w_dims, const int8_t *w,
                                  const int32_t *bias, const int8_t *skip,
                                  const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, a, in_dims, in, w_dims, w, skip, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    conv_packed_run(p, q, a, in_dims, in, w_dims, w, bias, skip, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_packed_in_place_s8(const en_requant *q, const en_dims *in_dims, int8_t *io,
                                       const en_dims *w_dims, const int8_t *w,
                                       const int32_t *bias, const en_dims *out_dims) {
    if (en_conv_in_place_check_args(q, in_dims, io, w_dims, w, out_dims) != EN_OK) {
        return EN_ERR_ARG;
    }
    /* Pixel by pixel: save its input, then write its outputs (at or before that input). */
    static const en_conv_params pointwise = {1, 1, 1, 1, 0, 0};
    const en_dims one_in = {1, 1, 1, in_dims->c}, one_out = {1, 1, 1, out_dims->c};
    const int32_t pixels = in_dims->n * in_dims->h * in_dims->w;
    int8_t x[EN_CONV_IN_PLACE_MAX_CIN];
    for (int32_t i = 0; i < pixels; ++i) {
        const int8_t *src = io + (size_t)i * in_dims->c;
        for (int32_t ci = 0; ci < in_dims->c; ++ci) {
            x[ci] = src[ci];
        }
        conv_packed_run(&pointwise, q, NULL, &one_in, x, w_dims, w, bias, NULL, &one_out,
                        io + (size_t)i * out_dims->c);
    }
    return EN_OK;
}
