/* Helium (MVE) build of the packed-filter conv kernels: same contract and results as
 * ref/conv2d_packed_s8.c. All three run the engine in mve/conv.c with filter rows L4 apart
 * (the rows' zero padding is never read). */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/conv_packed.h"
#include "mve/conv.h"

static void run(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                const en_dims *in_dims, const int8_t *in, const en_dims *w_dims, const int8_t *w,
                const int32_t *bias, const int8_t *skip, const en_dims *out_dims, int8_t *out) {
    const en_mve_conv_args c = {p, q, a, in_dims, w_dims, out_dims, in, w,
                                (int32_t)en_packed_row_values(w_dims), bias, skip, out};
    en_mve_conv(&c);
}

en_status en_conv2d_packed_s8(const en_conv_params *p, const en_requant *q,
                              const en_dims *in_dims, const int8_t *in,
                              const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                              const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, NULL, in_dims, in, w_dims, w, NULL, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    run(p, q, NULL, in_dims, in, w_dims, w, bias, NULL, out_dims, out);
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
    run(p, q, a, in_dims, in, w_dims, w, bias, skip, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_packed_in_place_s8(const en_requant *q, const en_dims *in_dims, int8_t *io,
                                       const en_dims *w_dims, const int8_t *w,
                                       const int32_t *bias, const en_dims *out_dims) {
    if (en_conv_in_place_check_args(q, in_dims, io, w_dims, w, out_dims) != EN_OK) {
        return EN_ERR_ARG;
    }
    /* out == in: the engine copies each pixel group into its column buffer first (mve/conv.c) */
    static const en_conv_params pointwise = {1, 1, 1, 1, 0, 0};
    run(&pointwise, q, NULL, in_dims, io, w_dims, w, bias, NULL, out_dims, io);
    return EN_OK;
}
