/* The arm build's long K x 1 depthwise strategy (arm/dw_kx1_pairs.c), tried by the arm
 * en_dwconv2d_kx1_s8 for kernels of KP_MIN_K taps and more: each column is expanded once into
 * int16 row pairs, so one SMLAD does two taps (the short-kernel loops do one MAC an
 * instruction, and their fixed costs only pay off at 3 taps). */
#ifndef EN_INTERNAL_DW_KX1_PAIRS_H
#define EN_INTERNAL_DW_KX1_PAIRS_H

#include "edgenas/kernels.h"

enum { KP_MIN_K = 5, KP_MAX_K = 32 };

/** Runs the call and returns 1 when the strategy takes it (see dw_kx1_pairs.c for which calls);
 *  returns 0, having written nothing, otherwise. Arguments as en_dwconv2d_s8, already checked. */
int en_dw_kx1_pairs(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                    const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                    const en_dims *out_dims, int8_t *out);

#endif
