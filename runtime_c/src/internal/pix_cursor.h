/* An output pixel of a convolution in raster order (image, row, column), stepped pixel by pixel
 * without the divisions a flat index needs; shared by the conv engines that gather windows per
 * pixel (arm/conv2d_packed_s8.c, mve/conv.c): on a 3x3 stem over one input channel, deriving
 * each window's position from a flat index cost more than its nine multiply-adds. */
#ifndef EN_INTERNAL_PIX_CURSOR_H
#define EN_INTERNAL_PIX_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "edgenas/kernels.h"

typedef struct {
    int32_t b, oh, ow;
} en_pix_cursor;

/** Pixel `pix` of the flat raster index over N * OH * OW (two divisions: once per call, not per
 *  pixel). */
static inline en_pix_cursor en_pix_cursor_at(const en_dims *out_dims, size_t pix) {
    const size_t per_img = (size_t)out_dims->h * out_dims->w;
    const int32_t rem = (int32_t)(pix % per_img);
    const en_pix_cursor k = {(int32_t)(pix / per_img), rem / out_dims->w, rem % out_dims->w};
    return k;
}

/** The next output pixel of out_dims. */
static inline void en_pix_cursor_next(const en_dims *out_dims, en_pix_cursor *k) {
    if (++k->ow == out_dims->w) {
        k->ow = 0;
        if (++k->oh == out_dims->h) {
            k->oh = 0;
            ++k->b;
        }
    }
}

/** The input position of the top-left tap of pixel k's window. */
static inline void en_pix_cursor_origin(const en_conv_params *p, const en_pix_cursor *k,
                                        int32_t *ih0, int32_t *iw0) {
    *ih0 = k->oh * p->stride_h - p->pad_top;
    *iw0 = k->ow * p->stride_w - p->pad_left;
}

#endif /* EN_INTERNAL_PIX_CURSOR_H */
