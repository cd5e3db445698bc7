/* ARMv7E-M conv with packed filters: same contract and bytes as ref/conv2d_packed_s8.c.
 *
 * One output pixel at a time, four output channels per pass. A kernel row of the window is a
 * contiguous run of KW * C_in input bytes (NHWC, dilation_w == 1); each 4-byte block of it is
 * loaded once, sign-extended with the input offset into two int16 pairs (SXTAB16: bytes {0, 2}
 * and {1, 3}), and multiplied by the four channels' packed int16 pairs (kernels.h), which are
 * stored in exactly that lane order, with one SMLAD per pair: 16 MACs per block for 1 input
 * load, 2 extends, 8 weight words and 8 SMLADs.
 * Window rows outside the input are skipped; clipped columns shorten the run when C_in % 4 == 0
 * (whole blocks), otherwise the pixel's window is first copied into a small column buffer with
 * zero-point padding (x - input_zp == 0 there, so those taps add nothing: TFLite's padding).
 * Windows too large for that buffer, and dilated columns, use a scalar loop over the same
 * packed weights. Accumulator bound as en_conv2d_s8: exact integer sums, so order is free.
 */
#include <stddef.h>
#include <string.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/conv_packed.h"
#include "internal/dot_arm.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

enum {
    COL_BYTES = 256, /* per-pixel column buffer (stack) for windows with C_in % 4 != 0 */
    MAX_ROWS = 16    /* window rows handled by the fast path */
};

typedef struct {
    const int8_t *x;   /* first input byte of the run */
    int32_t w_offset;  /* int16 offset of its first block inside one group's packed data */
    int32_t blocks;    /* 4-byte blocks in the run */
} run_t;

/* One aligned word of packed weights (two int16 lanes); see en_read_u32 for __builtin_memcpy. */
static inline uint32_t load_w32(const int16_t *w) {
    uint32_t v;
    __builtin_memcpy(&v, w, sizeof v);
    return v;
}

/* acc[c] += sum over `blocks` blocks of w * (x + offset) for the group's four channels. */
static inline void mac_run4(const int8_t *x, const int16_t *w, int32_t blocks, int32_t offset,
                            int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    /* The C loop below, scheduled by hand: GCC neither folds the ROR into SXTAB16 nor pairs
     * the weight loads, which costs 5 of 22 instructions per block. 17 per 16 MACs here. */
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    if (blocks > 0) {
        int32_t xv, xe, t0, t1;
        __asm volatile(
            "1:\n\t"
            "ldr     %[xv], [%[x]], #4\n\t"
            "sxtab16 %[xe], %[off], %[xv]\n\t"
            "sxtab16 %[xv], %[off], %[xv], ror #8\n\t"
            "ldrd    %[t0], %[t1], [%[w]], #8\n\t"
            "smlad   %[a0], %[xe], %[t0], %[a0]\n\t"
            "smlad   %[a0], %[xv], %[t1], %[a0]\n\t"
            "ldrd    %[t0], %[t1], [%[w]], #8\n\t"
            "smlad   %[a1], %[xe], %[t0], %[a1]\n\t"
            "smlad   %[a1], %[xv], %[t1], %[a1]\n\t"
            "ldrd    %[t0], %[t1], [%[w]], #8\n\t"
            "smlad   %[a2], %[xe], %[t0], %[a2]\n\t"
            "smlad   %[a2], %[xv], %[t1], %[a2]\n\t"
            "ldrd    %[t0], %[t1], [%[w]], #8\n\t"
            "smlad   %[a3], %[xe], %[t0], %[a3]\n\t"
            "smlad   %[a3], %[xv], %[t1], %[a3]\n\t"
            "subs    %[n], %[n], #1\n\t"
            "bne     1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
              [w] "+r"(w), [n] "+r"(blocks), [xv] "=&r"(xv), [xe] "=&r"(xe), [t0] "=&r"(t0),
              [t1] "=&r"(t1)
            : [off] "r"(off2)
            : "cc", "memory");
    }
#elif EN_HAVE_DSP
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    for (; blocks > 0; --blocks, x += 4, w += 16) {
        const uint32_t xv = en_read_u32(x);
        const int16x2_t xe = __sxtab16(off2, (int8x4_t)xv);
        const int16x2_t xo = __sxtab16(off2, (int8x4_t)en_ror8(xv));
        a0 = __smlad(xe, (int16x2_t)load_w32(w + 0), a0);
        a0 = __smlad(xo, (int16x2_t)load_w32(w + 2), a0);
        a1 = __smlad(xe, (int16x2_t)load_w32(w + 4), a1);
        a1 = __smlad(xo, (int16x2_t)load_w32(w + 6), a1);
        a2 = __smlad(xe, (int16x2_t)load_w32(w + 8), a2);
        a2 = __smlad(xo, (int16x2_t)load_w32(w + 10), a2);
        a3 = __smlad(xe, (int16x2_t)load_w32(w + 12), a3);
        a3 = __smlad(xo, (int16x2_t)load_w32(w + 14), a3);
    }
#else
    static const uint8_t pos[4] = {0, 2, 1, 3};
    for (; blocks > 0; --blocks, x += 4, w += 16) {
        for (int r = 0; r < 4; ++r) {
            const int32_t xo = (int32_t)x[r] + offset;
            a0 += w[0 + pos[r]] * xo;
            a1 += w[4 + pos[r]] * xo;
            a2 += w[8 + pos[r]] * xo;
            a3 += w[12 + pos[r]] * xo;
        }
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

static inline int8_t add_elem_fast(const en_add_quant *a, int32_t x1, int32_t x2) {
    const int32_t s1 = (int32_t)((uint32_t)(x1 - a->in1_zp) << a->left_shift);
    const int32_t s2 = (int32_t)((uint32_t)(x2 - a->in2_zp) << a->left_shift);
    const int32_t r = en_mbqm_fast(s1, a->in1_mult, a->in1_shift) +
                      en_mbqm_fast(s2, a->in2_mult, a->in2_shift);
    return en_requant_fast(r, a->out_mult, a->out_shift, a->out_zp, a->act_min, a->act_max);
}

/* Requantise (and optionally ADD) `n` channels starting at co, storing them at y. */
static inline void store_group(const en_requant *q, const en_add_quant *a, const int8_t *skip,
                               int32_t co, int32_t n, const int32_t acc[4], int8_t *y) {
    for (int32_t c = 0; c < n; ++c) {
        const int32_t qc = q->per_channel ? co + c : 0;
        const int8_t v = en_requant_fast(acc[c], q->mult[qc], q->shift[qc], q->output_zp,
                                         q->act_min, q->act_max);
        /* skip[c] is read before y[c] is written: safe when out == skip. */
        y[c] = a == NULL ? v : add_elem_fast(a, v, skip[c]);
    }
}

/* One output pixel by a scalar loop over the packed weights (rare geometries). */
static void pixel_scalar(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                         const en_dims *in_dims, const int8_t *in_b, const en_dims *w_dims,
                         const int16_t *w, const int32_t *bias, const int8_t *skip,
                         int32_t ih0, int32_t iw0, int32_t cout, int8_t *y) {
    const int32_t cin = in_dims->c;
    for (int32_t co = 0; co < cout; co += 4) {
        const int32_t n = cout - co < 4 ? cout - co : 4;
        int32_t acc[4] = {0, 0, 0, 0};
        for (int32_t c = 0; c < n; ++c) {
            acc[c] = bias != NULL ? bias[co + c] : 0;
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
                    const int8_t *x = in_b + ((size_t)ih * in_dims->w + iw) * cin;
                    for (int32_t ci = 0; ci < cin; ++ci) {
                        acc[c] += w[en_packed_index(w_dims, co + c, kh, kw, ci)] *
                                  ((int32_t)x[ci] - q->input_zp);
                    }
                }
            }
        }
        store_group(q, a, skip == NULL ? NULL : skip + co, co, n, acc, y + co);
    }
}

static void conv_packed(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                        const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                        const int16_t *w, const int32_t *bias, const int8_t *skip,
                        const en_dims *out_dims, int8_t *out) {
    const int32_t cin = in_dims->c;
    const int32_t cout = out_dims->c;
    const int32_t kh_n = w_dims->h;
    const int32_t kw_n = w_dims->w;
    const int32_t run_len = kw_n * cin;
    const int32_t run_len4 = (run_len + 3) / 4 * 4;
    const size_t row_values = en_packed_row_values(w_dims);
    const size_t group_values = row_values * (size_t)kh_n;
    const int32_t offset = -q->input_zp;
    const int dense_cols = p->dilation_w == 1;
    const int cin_blocks = cin % 4 == 0;
    int8_t col[COL_BYTES];
    run_t runs[MAX_ROWS];
    size_t i = 0;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        const int8_t *in_b = in + (size_t)b * in_dims->h * in_dims->w * cin;
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            for (int32_t ow = 0; ow < out_dims->w; ++ow, i += (size_t)cout) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                const int8_t *skip_px = skip == NULL ? NULL : skip + i;
                /* Valid kernel columns [kw0, kw1) (dense columns only). */
                int32_t kw0 = iw0 < 0 ? -iw0 : 0;
                int32_t kw1 = in_dims->w - iw0 < kw_n ? in_dims->w - iw0 : kw_n;
                const int clipped = kw0 > 0 || kw1 < kw_n;
                int32_t nrows = 0;
                int direct = dense_cols && kh_n <= MAX_ROWS && (cin_blocks || (run_len % 4 == 0 && !clipped));
                int use_col = !direct && dense_cols && kh_n <= MAX_ROWS;
                if (kw1 <= kw0) {
                    direct = 1; /* no column in bounds: every tap is padding */
                    use_col = 0;
                }
                if (direct || use_col) {
                    for (int32_t kh = 0; kh < kh_n; ++kh) {
                        const int32_t ih = ih0 + kh * p->dilation_h;
                        if (ih < 0 || ih >= in_dims->h || kw1 <= kw0) {
                            continue;
                        }
                        /* first in-bounds byte of this window row (column iw0 + kw0 >= 0) */
                        const int8_t *row = in_b + ((size_t)ih * in_dims->w + (size_t)(iw0 + kw0)) * cin;
                        if (direct) {
                            runs[nrows].x = row;
                            runs[nrows].w_offset = (int32_t)((size_t)kh * row_values) + kw0 * cin / 4 * 16;
                            runs[nrows].blocks = (kw1 - kw0) * cin / 4;
                        } else {
                            if ((nrows + 1) * run_len4 > COL_BYTES) {
                                use_col = 0;
                                break;
                            }
                            int8_t *dst = col + nrows * run_len4;
                            const int8_t zp = (int8_t)q->input_zp;
                            memset(dst, zp, (size_t)run_len4);
                            memcpy(dst + kw0 * cin, row, (size_t)(kw1 - kw0) * cin);
                            runs[nrows].x = dst;
                            runs[nrows].w_offset = (int32_t)((size_t)kh * row_values);
                            runs[nrows].blocks = run_len4 / 4;
                        }
                        ++nrows;
                    }
                }
                if (!direct && !use_col) {
                    pixel_scalar(p, q, a, in_dims, in_b, w_dims, w, bias, skip_px, ih0, iw0, cout,
                                 out + i);
                    continue;
                }
                const int16_t *wg = w;
                for (int32_t co = 0; co < cout; co += 4, wg += group_values) {
                    const int32_t n = cout - co < 4 ? cout - co : 4;
                    int32_t acc[4] = {0, 0, 0, 0};
                    if (bias != NULL) {
                        for (int32_t c = 0; c < n; ++c) {
                            acc[c] = bias[co + c];
                        }
                    }
                    for (int32_t r = 0; r < nrows; ++r) {
                        mac_run4(runs[r].x, wg + runs[r].w_offset, runs[r].blocks, offset, acc);
                    }
                    store_group(q, a, skip_px == NULL ? NULL : skip_px + co, co, n, acc, out + i + co);
                }
            }
        }
    }
}

en_status en_conv2d_packed_s8(const en_conv_params *p, const en_requant *q,
                              const en_dims *in_dims, const int8_t *in,
                              const en_dims *w_dims, const int16_t *w, const int32_t *bias,
                              const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, NULL, in_dims, in, w_dims, w, NULL, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    conv_packed(p, q, NULL, in_dims, in, w_dims, w, bias, NULL, out_dims, out);
    return EN_OK;
}

en_status en_conv2d_add_packed_s8(const en_conv_params *p, const en_requant *q,
                                  const en_add_quant *a, const en_dims *in_dims,
                                  const int8_t *in, const en_dims *w_dims, const int16_t *w,
                                  const int32_t *bias, const int8_t *skip,
                                  const en_dims *out_dims, int8_t *out) {
    if (en_conv_check_args(p, q, a, in_dims, in, w_dims, w, skip, out_dims, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    conv_packed(p, q, a, in_dims, in, w_dims, w, bias, skip, out_dims, out);
    return EN_OK;
}
