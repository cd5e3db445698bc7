/* Constant padding of an NHWC int8 tensor (TFLite PAD / PADV2 with a constant value).
 * Rows along C are contiguous, so each output row is value-fill + memcpy + value-fill.
 */
#include <stddef.h>
#include <string.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"

static en_status pad_check(const en_pad_params *p, const en_dims *in_dims, const int8_t *in,
                           const en_dims *out_dims, const int8_t *out) {
    if (p == NULL || in == NULL || out == NULL || en_check_dims(in_dims) != EN_OK ||
        en_check_dims(out_dims) != EN_OK || p->value < EN_INT8_MIN || p->value > EN_INT8_MAX) {
        return EN_ERR_ARG;
    }
    const int32_t in_d[4] = {in_dims->n, in_dims->h, in_dims->w, in_dims->c};
    const int32_t out_d[4] = {out_dims->n, out_dims->h, out_dims->w, out_dims->c};
    for (int i = 0; i < 4; ++i) {
        if (p->before[i] < 0 || p->after[i] < 0 ||
            (int64_t)in_d[i] + p->before[i] + p->after[i] != out_d[i]) {
            return EN_ERR_ARG;
        }
    }
    if (en_overlaps(in, (size_t)en_dims_count(in_dims), out, (size_t)en_dims_count(out_dims))) {
        return EN_ERR_ARG;
    }
    return EN_OK;
}

en_status en_pad_s8(const en_pad_params *p, const en_dims *in_dims, const int8_t *in,
                    const en_dims *out_dims, int8_t *out) {
    if (pad_check(p, in_dims, in, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    const int8_t value = (int8_t)p->value;
    const size_t oc = (size_t)out_dims->c;
    const size_t ic = (size_t)in_dims->c;
    size_t o = 0;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        const int32_t ib = b - p->before[0];
        for (int32_t h = 0; h < out_dims->h; ++h) {
            const int32_t ih = h - p->before[1];
            for (int32_t w = 0; w < out_dims->w; ++w, o += oc) {
                const int32_t iw = w - p->before[2];
                if (ib < 0 || ib >= in_dims->n || ih < 0 || ih >= in_dims->h || iw < 0 ||
                    iw >= in_dims->w) {
                    memset(out + o, value, oc);
                    continue;
                }
                const int8_t *src = in + (((size_t)ib * in_dims->h + ih) * in_dims->w + iw) * ic;
                memset(out + o, value, (size_t)p->before[3]);
                memcpy(out + o + p->before[3], src, ic);
                memset(out + o + p->before[3] + ic, value, (size_t)p->after[3]);
            }
        }
    }
    return EN_OK;
}
