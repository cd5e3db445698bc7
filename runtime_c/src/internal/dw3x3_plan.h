/* The calls en_dwconv2d_3x3_s8 takes (kernels.h), shared by every build so that all of them
 * answer the same calls: undilated 3x3 at stride 1x1 or 2x2, pad_top and pad_left <= 1 (SAME or
 * VALID), C a multiple of 4, run as image rows of D3_MIN_W..D3_MAX_W pixels, or else transposed
 * (image columns as rows) when the columns are that long. In place, rows need OH <= H and
 * OW <= W (arm/dwconv3x3_s8.c's file comment), the transposed view OH == H and OW == W (output
 * column j overwrites only input column j, which the three expanded slots already hold when it
 * is written). edgenas.deploy.codegen.dw3x3_window mirrors this: the compiler sends exactly these
 * calls. */
#ifndef EN_INTERNAL_DW3X3_PLAN_H
#define EN_INTERNAL_DW3X3_PLAN_H

#include <stddef.h>

#include "edgenas/kernels.h"

enum {
    D3_MIN_W = 8,   /* narrower rows run transposed (when their columns are long) */
    D3_MAX_W = 128, /* longest view row */
    D3_ROWH = 136   /* halfwords per row slot: pad_left + W + the pair loops' overrun */
};

/* How a call runs: as image rows, or transposed (pixel steps W * C, row steps C, the filter read
 * column by column), which gives narrow maps such as DS-CNN's 25x5 long rows, where the fixed
 * cost per row and channel weighs little. */
typedef struct {
    int32_t h, w, oh, ow;   /* view rows and row lengths, input and output */
    int32_t pt, pl;         /* padding before the first view row / pixel */
    size_t in_px, in_row;   /* bytes between view pixels / rows of the input */
    size_t out_px, out_row; /* of the output */
    size_t w_row, w_col;    /* bytes between the filter's view rows / columns */
} d3_view;

/* Whether view rows of `w` pixels (outputs `ow`, stride s) fit a slot: the pair loops read up
 * to halfword 2 * pairs + 1 (stride 1) or 4 * pairs + 1 (stride 2), plus pad_left. */
static inline int d3_fits(int32_t w, int32_t ow, int32_t s) {
    const int32_t pairs = (ow + 1) / 2;
    return w >= 1 && w <= D3_MAX_W && (s == 1 ? 2 * pairs + 1 : 4 * pairs + 1) < D3_ROWH;
}

/* 1 with the view of a call the entry point takes, else 0. */
static inline int d3_plan(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                          const en_dims *out_dims, int in_place, d3_view *v) {
    const int32_t s = p->stride_w, C = in_dims->c, H = in_dims->h, W = in_dims->w;
    const int32_t OH = out_dims->h, OW = out_dims->w;
    if (w_dims->h != 3 || w_dims->w != 3 || p->dilation_h != 1 || p->dilation_w != 1 ||
        p->stride_h != s || (s != 1 && s != 2) || p->pad_top > 1 || p->pad_left > 1 || C % 4 != 0) {
        return 0;
    }
    if (W >= D3_MIN_W && d3_fits(W, OW, s) && (!in_place || (OH <= H && OW <= W))) {
        *v = (d3_view){H, W, OH, OW, p->pad_top, p->pad_left, (size_t)C, (size_t)W * C,
                       (size_t)C, (size_t)OW * C, (size_t)3 * C, (size_t)C};
        return 1;
    }
    if (W < D3_MIN_W && H >= D3_MIN_W && d3_fits(H, OH, s) && (!in_place || (OH == H && OW == W))) {
        *v = (d3_view){W, H, OW, OH, p->pad_left, p->pad_top, (size_t)W * C, (size_t)C,
                       (size_t)OW * C, (size_t)C, (size_t)C, (size_t)3 * C};
        return 1;
    }
    return 0;
}

/* en_dwconv2d_3x3_s8 in builds without a strategy of their own: the same calls, as
 * en_dwconv2d_s8 (EN_ERR_ARG for the others). */
static inline en_status en_dwconv2d_3x3_other(const en_conv_params *p, const en_requant *q,
                                              const en_dims *in_dims, const int8_t *in,
                                              const en_dims *w_dims, const int8_t *w,
                                              const int32_t *bias, const en_dims *out_dims,
                                              int8_t *out, void *scratch) {
    d3_view v;
    if (p == NULL || in_dims == NULL || w_dims == NULL || out_dims == NULL ||
        !d3_plan(p, in_dims, w_dims, out_dims, out == in, &v)) {
        return EN_ERR_ARG;
    }
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}

#endif
