/* The conv engine of the mve build (mve/conv.c), shared by the plain and packed conv kernels:
 * they differ only in how far apart two output channels' filter rows lie. */
#ifndef EN_MVE_CONV_H
#define EN_MVE_CONV_H

#include <stdint.h>

#include "edgenas/kernels.h"
#include "mve/mve.h" /* refuses a core without Helium */

/** One conv call whose arguments have been checked (en_conv_check_args or the in-place check).
 *  Filter row co starts at w + co * w_row; its first KH * KW * C_in values are the OHWI window
 *  (packed rows: w_row = L4, their padding is never read; plain OHWI: w_row = L). */
typedef struct {
    const en_conv_params *p;
    const en_requant *q;
    const en_add_quant *a;  /* fused ADD (conv output = in1, skip = in2), or NULL */
    const en_dims *in_dims;
    const en_dims *w_dims;
    const en_dims *out_dims;
    const int8_t *in;
    const int8_t *w;
    int32_t w_row;
    const int32_t *bias;    /* or NULL */
    const int8_t *skip;     /* with a: same dims as out, == out or disjoint from it */
    int8_t *out;            /* disjoint from in, or == in for the in-place pointwise conv */
} en_mve_conv_args;

/** Computes the call (any geometry; see mve/conv.c for the strategy). */
void en_mve_conv(const en_mve_conv_args *c);

#endif /* EN_MVE_CONV_H */
