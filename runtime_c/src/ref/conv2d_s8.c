/* Portable reference 2-D convolution (int8, per-channel requantisation) and its fused
 * residual-add twin. Slow on purpose: the arm/ build must match it byte for byte.
 *
 * out[b, oh, ow, co] = requant(bias[co] + sum_{kh, kw, ci} w[co, kh, kw, ci] * (x - input_zp))
 * where x = in[b, oh*sh - pad_top + kh*dh, ow*sw - pad_left + kw*dw, ci], and taps outside the
 * input are skipped (TFLite's zero-point padding contributes exactly 0 to the sum).
 * Accumulator bound: each term is at most 127 * 255 < 2^15 in magnitude; see kernels.h.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"

/* Raw accumulator of one output value (before bias and requantisation). */
static int32_t conv_acc(const en_conv_params *p, const en_dims *in_dims, const int8_t *in,
                        const en_dims *w_dims, const int8_t *w, int32_t b, int32_t oh, int32_t ow,
                        int32_t co, int32_t input_zp) {
    const int32_t cin = in_dims->c;
    const int32_t ih0 = oh * p->stride_h - p->pad_top;
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
            const int8_t *x = in + (((size_t)b * in_dims->h + ih) * in_dims->w + iw) * cin;
            const int8_t *k = w + (((size_t)co * w_dims->h + kh) * w_dims->w + kw) * cin;
            for (int32_t ci = 0; ci < cin; ++ci) {
                acc += (int32_t)k[ci] * ((int32_t)x[ci] - input_zp);
            }
        }
    }
    return acc;
}

/* Pointwise fast path (1x1, stride 1, no padding): every output pixel reads one contiguous
 * input pixel, so the tap loops and bounds tests disappear. Same arithmetic, same order. */
static void conv_run_pointwise(const en_requant *q, const en_add_quant *a, const en_dims *in_dims,
                               const int8_t *in, const int8_t *w, const int32_t *bias,
                               const int8_t *skip, const en_dims *out_dims, int8_t *out) {
    const int32_t cin = in_dims->c;
    const int32_t cout = out_dims->c;
    const int32_t pixels = out_dims->n * out_dims->h * out_dims->w;
    for (int32_t px = 0; px < pixels; ++px) {
        const int8_t *x = in + (size_t)px * cin;
        for (int32_t co = 0; co < cout; ++co) {
            const int8_t *k = w + (size_t)co * cin;
            int32_t acc = 0;
            for (int32_t ci = 0; ci < cin; ++ci) {
                acc += (int32_t)k[ci] * ((int32_t)x[ci] - q->input_zp);
            }
            if (bias != NULL) {
                acc += bias[co];
            }
            const int32_t qc = q->per_channel ? co : 0;
            const int8_t v = en_requant_s8(acc, q->mult[qc], q->shift[qc], q->output_zp,
                                           q->act_min, q->act_max);
            const size_t i = (size_t)px * cout + co;
            out[i] = a == NULL ? v : en_add_elem(a, v, skip[i]);
        }
    }
}

/* Shared body: with `a` == NULL a plain conv, else the fused residual add over `skip`. */
static void conv_run(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                     const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                     const int8_t *w, const int32_t *bias, const int8_t *skip,
                     const en_dims *out_dims, int8_t *out) {
    if (en_conv_is_pointwise(p, w_dims)) {
        conv_run_pointwise(q, a, in_dims, in, w, bias, skip, out_dims, out);
        return;
    }
    const int32_t cout = out_dims->c;
    size_t i = 0;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                for (int32_t co = 0; co < cout; ++co, ++i) {
                    int32_t acc =
                        conv_acc(p, in_dims, in, w_dims, w, b, oh, ow, co, q->input_zp);
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

en_status en_conv2d_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                       const int8_t *in, const en_dims *w_dims, const int8_t *w,
                       const int32_t *bias, const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, NULL, in_dims, in, w_dims, w, NULL, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    conv_run(p, q, NULL, in_dims, in, w_dims, w, bias, NULL, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_add_s8(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                           const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                           const int8_t *w, const int32_t *bias, const int8_t *skip,
                           const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, a, in_dims, in, w_dims, w, skip, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    conv_run(p, q, a, in_dims, in, w_dims, w, bias, skip, out_dims, out);
    return EN_OK;
}
