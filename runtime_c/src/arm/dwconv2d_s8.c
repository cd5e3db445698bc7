/* ARMv7E-M build of the depthwise convolution: same contract and results as ref/dwconv2d_s8.c.
 *
 * Out of place, the loop is pixel-major: for each output pixel and each group of four channels,
 * the in-bounds taps are taken two at a time; the four channels' bytes of both taps are
 * sign-extended (SXTB16/SXTAB16 give lanes {c, c+2} and {c+1, c+3}), re-paired per channel
 * ({tap0, tap1}) and accumulated with one SMLAD per channel. Leftover taps and channels
 * (C % 4) use scalar code. In place, it uses the shared channel-plane strategy
 * (common/dw_plane.c), which needs only the one-plane scratch.
 * Accumulator bound as ref: KH*KW terms < 2^15 each; exact sums, so order is free.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/dw_plane.h"
#include "internal/fixedpoint.h"

#if EN_HAVE_DSP
/* Low halves of a and b as {a.lo, b.lo}; high halves as {a.hi, b.hi} (compile to PKHBT/PKHTB). */
static inline int16x2_t pack_lo(int32_t a, int32_t b) {
    return (int16x2_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16));
}
static inline int16x2_t pack_hi(int32_t a, int32_t b) {
    return (int16x2_t)(((uint32_t)a >> 16) | ((uint32_t)b & 0xFFFF0000u));
}

/* acc[0..3] += sum over the tap pair of w * (x + offset) for channels c..c+3. */
static inline void mac4_pair(const int8_t *xa, const int8_t *xb, const int8_t *wa,
                             const int8_t *wb, int32_t off2, int32_t acc[4]) {
    const uint32_t xav = en_read_u32(xa), xbv = en_read_u32(xb);
    const uint32_t wav = en_read_u32(wa), wbv = en_read_u32(wb);
    const int32_t xa_e = __sxtab16(off2, (int8x4_t)xav);
    const int32_t xa_o = __sxtab16(off2, (int8x4_t)en_ror8(xav));
    const int32_t xb_e = __sxtab16(off2, (int8x4_t)xbv);
    const int32_t xb_o = __sxtab16(off2, (int8x4_t)en_ror8(xbv));
    const int32_t wa_e = __sxtb16((int8x4_t)wav), wa_o = __sxtb16((int8x4_t)en_ror8(wav));
    const int32_t wb_e = __sxtb16((int8x4_t)wbv), wb_o = __sxtb16((int8x4_t)en_ror8(wbv));
    acc[0] = __smlad(pack_lo(xa_e, xb_e), pack_lo(wa_e, wb_e), acc[0]);
    acc[1] = __smlad(pack_lo(xa_o, xb_o), pack_lo(wa_o, wb_o), acc[1]);
    acc[2] = __smlad(pack_hi(xa_e, xb_e), pack_hi(wa_e, wb_e), acc[2]);
    acc[3] = __smlad(pack_hi(xa_o, xb_o), pack_hi(wa_o, wb_o), acc[3]);
}
#endif

enum { MAX_TAPS = 64 }; /* taps per window handled by the pixel-major path (8x8) */

static void dw_pixel_major(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                           const int8_t *in, const en_dims *w_dims, const int8_t *w,
                           const int32_t *bias, const en_dims *out_dims, int8_t *out) {
    const int32_t C = in_dims->c;
    const int32_t offset = -q->input_zp;
    size_t x_off[MAX_TAPS]; /* input byte offset of each in-bounds tap (channel 0) */
    size_t w_off[MAX_TAPS]; /* filter byte offset of the same tap */
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                int32_t taps = 0;
                for (int32_t kh = 0; kh < w_dims->h; ++kh) {
                    const int32_t ih = ih0 + kh * p->dilation_h;
                    if (ih < 0 || ih >= in_dims->h) {
                        continue;
                    }
                    for (int32_t kw = 0; kw < w_dims->w; ++kw) {
                        const int32_t iw = iw0 + kw * p->dilation_w;
                        if (iw < 0 || iw >= in_dims->w) {
                            continue;
                        }
                        x_off[taps] = (((size_t)b * in_dims->h + ih) * in_dims->w + iw) * C;
                        w_off[taps] = ((size_t)kh * w_dims->w + kw) * C;
                        ++taps;
                    }
                }
                int8_t *y = out + (((size_t)b * out_dims->h + oh) * out_dims->w + ow) * C;
                int32_t c = 0;
#if EN_HAVE_DSP
                const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
                for (; c + 3 < C; c += 4) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    int32_t t = 0;
                    for (; t + 1 < taps; t += 2) {
                        mac4_pair(in + x_off[t] + c, in + x_off[t + 1] + c, w + w_off[t] + c,
                                  w + w_off[t + 1] + c, off2, acc);
                    }
                    for (; t < taps; ++t) {
                        for (int k = 0; k < 4; ++k) {
                            acc[k] += (int32_t)w[w_off[t] + c + k] *
                                      ((int32_t)in[x_off[t] + c + k] + offset);
                        }
                    }
                    for (int k = 0; k < 4; ++k) {
                        const int32_t ch = c + k;
                        const int32_t qc = q->per_channel ? ch : 0;
                        const int32_t a = acc[k] + (bias != NULL ? bias[ch] : 0);
                        y[ch] = en_requant_s8(a, q->mult[qc], q->shift[qc], q->output_zp,
                                              q->act_min, q->act_max);
                    }
                }
#endif
                for (; c < C; ++c) {
                    int32_t acc = 0;
                    for (int32_t t = 0; t < taps; ++t) {
                        acc += (int32_t)w[w_off[t] + c] * ((int32_t)in[x_off[t] + c] + offset);
                    }
                    if (bias != NULL) {
                        acc += bias[c];
                    }
                    const int32_t qc = q->per_channel ? c : 0;
                    y[c] = en_requant_s8(acc, q->mult[qc], q->shift[qc], q->output_zp,
                                         q->act_min, q->act_max);
                }
            }
        }
    }
}

en_status en_dwconv2d_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                         const int8_t *in, const en_dims *w_dims, const int8_t *w,
                         const int32_t *bias, const en_dims *out_dims, int8_t *out,
                         void *scratch) {
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) != EN_OK) {
        return EN_ERR_ARG;
    }
    if (out == in) {
        en_dw_in_place(p, q, in_dims, out, w_dims, w, bias, out_dims, (int8_t *)scratch);
    } else if ((int64_t)w_dims->h * w_dims->w <= MAX_TAPS) {
        dw_pixel_major(p, q, in_dims, in, w_dims, w, bias, out_dims, out);
    } else {
        for (int32_t c = 0; c < in_dims->c; ++c) {
            en_dw_channel(p, q, in_dims, in + c, (size_t)in_dims->c, w_dims, w, bias, out_dims,
                          out, c);
        }
    }
    return EN_OK;
}
