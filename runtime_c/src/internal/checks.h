/* Argument validation shared by the ref and arm builds, so both reject exactly the same calls.
 *
 * Each returns EN_OK or EN_ERR_ARG; none writes anything. Kernels call them before touching
 * their output, which is what makes "EN_ERR_ARG leaves the output untouched" true.
 */
#ifndef EN_INTERNAL_CHECKS_H
#define EN_INTERNAL_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "edgenas/kernels.h"

/** All four dims >= 1 and the element count fits int32. */
en_status en_check_dims(const en_dims *d);

/** Element count of valid dims (call en_check_dims first). */
int32_t en_dims_count(const en_dims *d);

/** zp and act range within int8, act_min <= act_max. */
en_status en_check_zp(int32_t zp);
en_status en_check_act(int32_t act_min, int32_t act_max);

/** mult/shift arrays present with legal values (mult >= 0, shift in [-31, 30]) for `channels`
 *  output channels, plus zero points and activation range. */
en_status en_check_requant(const en_requant *q, int32_t channels);

/** en_add_quant fields in range (zero points, shifts, left_shift, activation range). */
en_status en_check_add_quant(const en_add_quant *a);

/** Geometry and dims of a conv or depthwise conv. `depthwise` selects the filter layout
 *  ({1, KH, KW, C} instead of {C_out, KH, KW, C_in}). */
en_status en_check_conv(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                        const en_dims *out_dims, int depthwise);

/** 1 for a 1x1 kernel with stride 1 and no padding (out and in then have equal H and W). */
int en_conv_is_pointwise(const en_conv_params *p, const en_dims *w_dims);

/** Every check of en_conv2d_s8 (a == NULL, skip == NULL) or en_conv2d_add_s8: geometry,
 *  requantisation, pointers, no overlap of out with in, and for the fused add a skip tensor
 *  disjoint from in, a->in1_zp == q->output_zp and skip either == out or disjoint from it.
 *  The weight pointer is only tested for NULL, so the packed kernels share it. */
en_status en_conv_check_args(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                             const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                             const void *w, const int8_t *skip, const en_dims *out_dims,
                             const int8_t *out);

/** Every check of en_conv2d_packed_in_place_s8: a pointwise geometry, requantisation,
 *  pointers, C_out <= C_in <= EN_CONV_IN_PLACE_MAX_CIN. */
en_status en_conv_in_place_check_args(const en_requant *q, const en_dims *in_dims,
                                      const int8_t *io, const en_dims *w_dims, const void *w,
                                      const en_dims *out_dims);

/** Every check of en_dwconv2d_s8: geometry, requantisation, pointers, and either out == in
 *  with a scratch present, or out disjoint from in. */
en_status en_dw_check_args(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                           const int8_t *in, const en_dims *w_dims, const int8_t *w,
                           const en_dims *out_dims, const int8_t *out, const void *scratch);

/** Every check of en_fc_s8: sizes >= 1, requantisation, pointers, out disjoint from in. */
en_status en_fc_check_args(const en_requant *q, int32_t batches, int32_t in_features,
                           const int8_t *in, int32_t out_features, const int8_t *w,
                           const int8_t *out);

/** 1 if [a, a+a_bytes) and [b, b+b_bytes) share any byte. */
int en_overlaps(const void *a, size_t a_bytes, const void *b, size_t b_bytes);

#endif /* EN_INTERNAL_CHECKS_H */
