/* Helium (MVE) build of the plain (OHWI) conv kernels: same contract and results as
 * ref/conv2d_s8.c, through the engine in mve/conv.c with filter rows L = KH * KW * C_in apart. */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "mve/conv.h"

static void run(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                const en_dims *in_dims, const int8_t *in, const en_dims *w_dims, const int8_t *w,
                const int32_t *bias, const int8_t *skip, const en_dims *out_dims, int8_t *out) {
    const en_mve_conv_args c = {p, q, a, in_dims, w_dims, out_dims, in, w,
                                w_dims->h * w_dims->w * w_dims->c, bias, skip, out};
    en_mve_conv(&c);
}

en_status en_conv2d_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                       const int8_t *in, const en_dims *w_dims, const int8_t *w,
                       const int32_t *bias, const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, NULL, in_dims, in, w_dims, w, NULL, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    run(p, q, NULL, in_dims, in, w_dims, w, bias, NULL, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_add_s8(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                           const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                           const int8_t *w, const int32_t *bias, const int8_t *skip,
                           const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, a, in_dims, in, w_dims, w, skip, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    run(p, q, a, in_dims, in, w_dims, w, bias, skip, out_dims, out);
    return EN_OK;
}
