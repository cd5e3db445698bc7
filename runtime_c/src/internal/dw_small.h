/* The arm build's small-map depthwise strategy (arm/dw_small_s8.c), tried first by the arm
 * en_dwconv2d_s8, en_dwconv2d_strided_s8 and en_dwconv2d_kx1_s8 (not by en_dwconv2d_3x3_s8:
 * its rows of 8 and more pixels run faster in its own strategy, and KWS-sized firmware stays
 * without this code): on the few-pixel maps that end an MCU net, per-row and per-channel setup
 * costs more than the multiply-accumulates, so this strategy has almost none. */
#ifndef EN_INTERNAL_DW_SMALL_H
#define EN_INTERNAL_DW_SMALL_H

#include "edgenas/kernels.h"

/** Runs the call and returns 1 when the strategy takes it (see dw_small_s8.c for which calls);
 *  returns 0, having done nothing, otherwise. Arguments as en_dwconv2d_s8, already checked. */
int en_dw_small(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                const int8_t *in, const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                const en_dims *out_dims, int8_t *out);

#endif
