/* Argument validation shared by every kernel variant; see internal/checks.h. */
#include "internal/checks.h"

#include "internal/fixedpoint.h"

en_status en_check_dims(const en_dims *d) {
    if (d == NULL || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1) {
        return EN_ERR_ARG;
    }
    const int64_t count = (int64_t)d->n * d->h * d->w * d->c;
    return count <= INT32_MAX ? EN_OK : EN_ERR_ARG;
}

int32_t en_dims_count(const en_dims *d) { return d->n * d->h * d->w * d->c; }

en_status en_check_zp(int32_t zp) {
    return (zp >= EN_INT8_MIN && zp <= EN_INT8_MAX) ? EN_OK : EN_ERR_ARG;
}

en_status en_check_act(int32_t act_min, int32_t act_max) {
    if (act_min < EN_INT8_MIN || act_max > EN_INT8_MAX || act_min > act_max) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

static en_status check_mult_shift(int32_t mult, int32_t shift) {
    return (mult >= 0 && shift >= -31 && shift <= 30) ? EN_OK : EN_ERR_ARG;
}

en_status en_check_requant(const en_requant *q, int32_t channels) {
    if (q == NULL || q->mult == NULL || q->shift == NULL || channels < 1) {
        return EN_ERR_ARG;
    }
    if (en_check_zp(q->input_zp) != EN_OK || en_check_zp(q->output_zp) != EN_OK ||
        en_check_act(q->act_min, q->act_max) != EN_OK) {
        return EN_ERR_ARG;
    }
    const int32_t n = q->per_channel ? channels : 1;
    for (int32_t c = 0; c < n; ++c) {
        if (check_mult_shift(q->mult[c], q->shift[c]) != EN_OK) {
            return EN_ERR_ARG;
        }
    }
    return EN_OK;
}

en_status en_check_add_quant(const en_add_quant *a) {
    if (a == NULL) {
        return EN_ERR_ARG;
    }
    if (en_check_zp(a->in1_zp) != EN_OK || en_check_zp(a->in2_zp) != EN_OK ||
        en_check_zp(a->out_zp) != EN_OK || en_check_act(a->act_min, a->act_max) != EN_OK) {
        return EN_ERR_ARG;
    }
    /* (x - zp) is in [-255, 255]; 255 << 22 < 2^31 keeps the shifted input exact. */
    if (a->left_shift < 0 || a->left_shift > 22) {
        return EN_ERR_ARG;
    }
    if (check_mult_shift(a->in1_mult, a->in1_shift) != EN_OK || a->in1_shift > 0 ||
        check_mult_shift(a->in2_mult, a->in2_shift) != EN_OK || a->in2_shift > 0 ||
        check_mult_shift(a->out_mult, a->out_shift) != EN_OK) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

/* One spatial axis: the first window must end inside the input and the last one must start
 * inside it; anything else is a caller bug (wrong padding or output size). */
static en_status check_axis(int32_t in, int32_t k, int32_t stride, int32_t dilation, int32_t pad,
                            int32_t out) {
    if (k < 1 || stride < 1 || dilation < 1 || pad < 0 || out < 1) {
        return EN_ERR_ARG;
    }
    const int64_t eff_k = (int64_t)(k - 1) * dilation + 1;
    if (pad > eff_k - 1) {
        return EN_ERR_ARG;
    }
    if ((int64_t)(out - 1) * stride - pad > in - 1) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

en_status en_check_conv(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                        const en_dims *out_dims, int depthwise) {
    if (p == NULL || en_check_dims(in_dims) != EN_OK || en_check_dims(w_dims) != EN_OK ||
        en_check_dims(out_dims) != EN_OK) {
        return EN_ERR_ARG;
    }
    if (out_dims->n != in_dims->n) {
        return EN_ERR_ARG;
    }
    if (depthwise) {
        if (w_dims->n != 1 || w_dims->c != in_dims->c || out_dims->c != in_dims->c) {
            return EN_ERR_ARG;
        }
    } else if (w_dims->c != in_dims->c || out_dims->c != w_dims->n) {
        return EN_ERR_ARG;
    }
    if (check_axis(in_dims->h, w_dims->h, p->stride_h, p->dilation_h, p->pad_top, out_dims->h) !=
            EN_OK ||
        check_axis(in_dims->w, w_dims->w, p->stride_w, p->dilation_w, p->pad_left, out_dims->w) !=
            EN_OK) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

int en_overlaps(const void *a, size_t a_bytes, const void *b, size_t b_bytes) {
    const uintptr_t pa = (uintptr_t)a;
    const uintptr_t pb = (uintptr_t)b;
    return pa < pb + b_bytes && pb < pa + a_bytes;
}

int en_conv_is_pointwise(const en_conv_params *p, const en_dims *w_dims) {
    return w_dims->h == 1 && w_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
           p->pad_top == 0 && p->pad_left == 0;
}

en_status en_conv_check_args(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                             const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                             const void *w, const int8_t *skip, const en_dims *out_dims,
                             const int8_t *out) {
    if (in == NULL || w == NULL || out == NULL) {
        return EN_ERR_ARG;
    }
    if (en_check_conv(p, in_dims, w_dims, out_dims, 0) != EN_OK ||
        en_check_requant(q, out_dims->c) != EN_OK) {
        return EN_ERR_ARG;
    }
    const size_t in_bytes = (size_t)en_dims_count(in_dims);
    const size_t out_bytes = (size_t)en_dims_count(out_dims);
    if (en_overlaps(in, in_bytes, out, out_bytes)) {
        return EN_ERR_ARG;
    }
    if (a == NULL) {
        return EN_OK;
    }
    /* Fused residual add: out element i reads skip element i only (just before writing it),
     * and the conv reads only `in`, so any geometry is safe once `in` is disjoint from both. */
    if (skip == NULL) {
        return EN_ERR_ARG;
    }
    if (en_check_add_quant(a) != EN_OK || a->in1_zp != q->output_zp) {
        return EN_ERR_ARG;
    }
    if (skip != out && en_overlaps(skip, out_bytes, out, out_bytes)) {
        return EN_ERR_ARG;
    }
    if (en_overlaps(skip, out_bytes, in, in_bytes)) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

en_status en_conv_in_place_check_args(const en_requant *q, const en_dims *in_dims,
                                      const int8_t *io, const en_dims *w_dims, const void *w,
                                      const en_dims *out_dims) {
    static const en_conv_params pointwise = {1, 1, 1, 1, 0, 0};
    if (io == NULL || w == NULL || in_dims == NULL || w_dims == NULL || out_dims == NULL) {
        return EN_ERR_ARG;
    }
    if (en_check_conv(&pointwise, in_dims, w_dims, out_dims, 0) != EN_OK ||
        en_check_requant(q, out_dims->c) != EN_OK || w_dims->h != 1 || w_dims->w != 1 ||
        out_dims->c > in_dims->c || in_dims->c > EN_CONV_IN_PLACE_MAX_CIN) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

en_status en_dw_check_args(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                           const int8_t *in, const en_dims *w_dims, const int8_t *w,
                           const en_dims *out_dims, const int8_t *out, const void *scratch) {
    if (in == NULL || w == NULL || out == NULL) {
        return EN_ERR_ARG;
    }
    if (en_check_conv(p, in_dims, w_dims, out_dims, 1) != EN_OK ||
        en_check_requant(q, out_dims->c) != EN_OK) {
        return EN_ERR_ARG;
    }
    const size_t in_bytes = (size_t)en_dims_count(in_dims);
    const size_t out_bytes = (size_t)en_dims_count(out_dims);
    if (out == in) {
        const size_t plane = (size_t)in_dims->n * in_dims->h * in_dims->w;
        const size_t span = in_bytes > out_bytes ? in_bytes : out_bytes;
        if (scratch == NULL || en_overlaps(scratch, plane, in, span)) {
            return EN_ERR_ARG;
        }
        return EN_OK;
    }
    return en_overlaps(in, in_bytes, out, out_bytes) ? EN_ERR_ARG : EN_OK;
}

en_status en_fc_check_args(const en_requant *q, int32_t batches, int32_t in_features,
                           const int8_t *in, int32_t out_features, const int8_t *w,
                           const int8_t *out) {
    if (in == NULL || w == NULL || out == NULL || batches < 1 || in_features < 1 ||
        out_features < 1) {
        return EN_ERR_ARG;
    }
    const int64_t in_count = (int64_t)batches * in_features;
    const int64_t out_count = (int64_t)batches * out_features;
    if (in_count > INT32_MAX || out_count > INT32_MAX ||
        (int64_t)in_features * out_features > INT32_MAX) {
        return EN_ERR_ARG;
    }
    if (en_check_requant(q, out_features) != EN_OK) {
        return EN_ERR_ARG;
    }
    return en_overlaps(in, (size_t)in_count, out, (size_t)out_count) ? EN_ERR_ARG : EN_OK;
}
