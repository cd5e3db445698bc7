/* ARMv7E-M build of the depthwise convolution: same contract and results as ref/dwconv2d_s8.c.
 *
 * Out of place, the loop is pixel-major: for each output pixel and each group of four channels,
 * the in-bounds taps are taken two at a time; the four channels' bytes of both taps are
 * sign-extended (SXTB16/SXTAB16 give lanes {c, c+2} and {c+1, c+3}), re-paired per channel
 * ({tap0, tap1}) and accumulated with one SMLAD per channel. Leftover taps and channels
 * (C % 4) use scalar code, and requantisation is en_requant_fast. In place, "same" geometry
 * (stride 1, output shape == input shape, e.g. every KWS DS-CNN depthwise layer) runs four
 * channels at a time through a stack ring of padded rows expanded to int16 (dw_in_place_rows;
 * 3x3 taps hand-scheduled, requantisation per channel over a band of rows); any other in-place
 * call uses the per-channel plane strategy (dw_plane_fast, or common/dw_plane.c).
 * Accumulator bound as ref: KH*KW terms < 2^15 each; exact sums, so order is free.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dot_arm.h"
#include "internal/dw_plane.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

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

#if EN_HAVE_DSP
enum { PLANE_MAX_K = 8 }; /* kernel rows / columns handled by the fast plane path */

static inline int32_t pack16(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* One channel from its contiguous plane copy (the in-place strategy's scratch), out[.., c].
 *
 * Narrow kernels (KW <= 4, W >= 4): every kernel row of every window is one 4-byte word of the
 * input row, read at ws = clamp(iw0, 0, W - 4). Lane j of that word is tap kw = j - d with
 * d = iw0 - ws, so with the filter row re-laid as int16 pairs {w[-d], w[2-d]}, {w[1-d], w[3-d]}
 * (0 outside [0, KW)) two SMLADs per kernel row cover the window: taps outside the row get no
 * lane (the word lies inside the row), and every in-row tap of the window lies inside the word
 * (KW <= 4). d only ranges over [-3, 3], so the pairs are tabulated once per channel.
 * Wider kernels use groups of 4 columns for windows wholly inside the row and a scalar loop
 * for the others. Accumulator bound and exactness as en_dw_channel. */
static void dw_plane_fast(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                          const int8_t *plane, const en_dims *w_dims, const int8_t *w,
                          const int32_t *bias, const en_dims *out_dims, int8_t *out, int32_t c) {
    const int32_t C = in_dims->c, H = in_dims->h, W = in_dims->w;
    const int32_t KH = w_dims->h, KW = w_dims->w;
    const int32_t groups = (KW + 3) / 4;
    const int32_t span = 4 * groups; /* bytes read per kernel row */
    const int narrow = KW <= 4 && W >= 4;
    const int32_t offset = -q->input_zp;
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    /* narrow: wt[d + 3][kh] (lane pairs for shift d); wide: wt[g][kh] for column group g */
    int32_t wt[7][PLANE_MAX_K][2];
    const int32_t variants = narrow ? 7 : groups;
    for (int32_t v = 0; v < variants; ++v) {
        for (int32_t kh = 0; kh < KH; ++kh) {
            int32_t k[4];
            for (int32_t j = 0; j < 4; ++j) {
                const int32_t kw = narrow ? j - (v - 3) : 4 * v + j;
                k[j] = kw >= 0 && kw < KW ? w[((size_t)kh * KW + kw) * C + c] : 0;
            }
            wt[v][kh][0] = pack16(k[0], k[2]);
            wt[v][kh][1] = pack16(k[1], k[3]);
        }
    }
    const int32_t qc = q->per_channel ? c : 0;
    const int32_t mult = q->mult[qc], shift = q->shift[qc];
    const int32_t b0 = bias != NULL ? bias[c] : 0;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        const int8_t *pl = plane + (size_t)b * H * W;
        int8_t *ob = out + (size_t)b * out_dims->h * out_dims->w * C + c;
        for (int32_t oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * p->stride_h - p->pad_top;
            int32_t kh0 = 0, kh1 = KH;
            while (kh0 < KH && ih0 + kh0 * p->dilation_h < 0) {
                ++kh0;
            }
            while (kh1 > kh0 && ih0 + (kh1 - 1) * p->dilation_h >= H) {
                --kh1;
            }
            for (int32_t ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * p->stride_w - p->pad_left;
                int32_t acc = b0;
                if (narrow && iw0 > -KW && iw0 < W) {
                    const int32_t ws = iw0 < 0 ? 0 : (iw0 > W - 4 ? W - 4 : iw0);
                    const int32_t(*wd)[2] = wt[iw0 - ws + 3];
                    const int8_t *x = pl + (size_t)(ih0 + kh0 * p->dilation_h) * W + ws;
                    const size_t row_step = (size_t)p->dilation_h * W;
                    for (int32_t kh = kh0; kh < kh1; ++kh, x += row_step) {
                        const uint32_t v = en_read_u32(x);
                        acc = __smlad(__sxtab16(off2, (int8x4_t)v), wd[kh][0], acc);
                        acc = __smlad(__sxtab16(off2, (int8x4_t)en_ror8(v)), wd[kh][1], acc);
                    }
                } else if (!narrow && iw0 >= 0 && iw0 + span <= W) {
                    for (int32_t kh = kh0; kh < kh1; ++kh) {
                        const int8_t *x = pl + (size_t)(ih0 + kh * p->dilation_h) * W + iw0;
                        for (int32_t g = 0; g < groups; ++g, x += 4) {
                            const uint32_t v = en_read_u32(x);
                            acc = __smlad(__sxtab16(off2, (int8x4_t)v), wt[g][kh][0], acc);
                            acc = __smlad(__sxtab16(off2, (int8x4_t)en_ror8(v)), wt[g][kh][1], acc);
                        }
                    }
                } else {
                    for (int32_t kh = kh0; kh < kh1; ++kh) {
                        const int8_t *x = pl + (size_t)(ih0 + kh * p->dilation_h) * W;
                        for (int32_t kw = 0; kw < KW; ++kw) {
                            const int32_t iw = iw0 + kw;
                            if (iw >= 0 && iw < W) {
                                acc += (int32_t)w[((size_t)kh * KW + kw) * C + c] *
                                       ((int32_t)x[iw] + offset);
                            }
                        }
                    }
                }
                ob[((size_t)oh * out_dims->w + ow) * C] =
                    en_requant_fast(acc, mult, shift, q->output_zp, q->act_min, q->act_max);
            }
        }
    }
}

enum {
    RING_MAX_TAPS = 25, /* taps per window of the ring path */
    RING_WORDS = 384,   /* ring of 2 * KH expanded rows on the stack: 1.5 KB */
    BAND_PIXELS = 128   /* accumulators held before requantisation: 2 KB of stack */
};

/* Whether dw_in_place_rows applies: "same" geometry (stride 1, no dilation, output shape ==
 * input shape, so output pixel i overwrites input pixel i), C % 4 == 0, at most 25 taps, a
 * ring of 2 * KH expanded rows of one channel group within RING_WORDS and a row within
 * BAND_PIXELS. */
static int ring_ok(const en_conv_params *p, const en_dims *in_dims, const en_dims *w_dims,
                   const en_dims *out_dims) {
    const int32_t KH = w_dims->h, KW = w_dims->w;
    return p->stride_h == 1 && p->stride_w == 1 && p->dilation_h == 1 && p->dilation_w == 1 &&
           out_dims->h == in_dims->h && out_dims->w == in_dims->w && in_dims->c % 4 == 0 &&
           KH * KW <= RING_MAX_TAPS && p->pad_top < KH && p->pad_left < KW &&
           in_dims->w <= BAND_PIXELS &&
           (int64_t)KH * (in_dims->w + KW - 1) * 4 <= RING_WORDS;
}

/* Ring slot s and its twin s + KH := input row r of channels c..c+3, expanded: each of the
 * W + KW - 1 padded pixels as two words {x_c, x_c+2}, {x_c+1, x_c+3} of int16 (x - input_zp),
 * pad_left pixels of zeros (a padding tap contributes w * 0) before and the rest after; all
 * zeros when r lies outside the image, so the window loop needs no bounds checks. Expanding
 * once per row (not per tap) saves the sign extension of each input eight times for a 3x3
 * kernel; the twin makes the KH rows of every window contiguous (slots s0 .. s0 + KH - 1). */
static void ring_fill(int32_t *slot, int32_t *twin, const int8_t *batch, int32_t r, int32_t H,
                      int32_t W, int32_t C, int32_t pad_left, int32_t row_px, int32_t off2) {
    int32_t j = 0;
    if (r >= 0 && r < H) {
        const int8_t *x = batch + (size_t)r * W * C;
        for (; j < pad_left; ++j) {
            slot[2 * j] = slot[2 * j + 1] = twin[2 * j] = twin[2 * j + 1] = 0;
        }
        for (int32_t iw = 0; iw < W; ++iw, ++j, x += C) {
            const uint32_t v = en_read_u32(x);
            const int32_t e = __sxtab16(off2, (int8x4_t)v), o = en_sxtab16_ror8(off2, v);
            slot[2 * j] = twin[2 * j] = e;
            slot[2 * j + 1] = twin[2 * j + 1] = o;
        }
    }
    for (; j < row_px; ++j) {
        slot[2 * j] = slot[2 * j + 1] = twin[2 * j] = twin[2 * j + 1] = 0;
    }
}

/* One tap of four channels: x the tap's expanded input {c, c+2}, {c+1, c+3}, wt its weights
 * sign-extended the same way. */
static inline void ring_tap(const int32_t *x, const int32_t *wt, int32_t *a0, int32_t *a1,
                            int32_t *a2, int32_t *a3) {
    const int32_t xe = x[0], xo = x[1], we = wt[0], wo = wt[1];
    *a0 = __smlabb(xe, we, *a0);
    *a2 = __smlatt(xe, we, *a2);
    *a1 = __smlabb(xo, wo, *a1);
    *a3 = __smlatt(xo, wo, *a3);
}

/* The nine taps of a 3x3 window: kernel row kh's three pixels at x + kh * rw words, weights
 * wk[0..8]. Hand-scheduled on the target (GCC keeps one pointer per kernel row and spills
 * them): per tap one LDRD of the input, one of the weights and four multiply-accumulates. */
static inline void taps3x3(const int32_t *x, int32_t rw, const int32_t (*wk)[2], int32_t *a0,
                           int32_t *a1, int32_t *a2, int32_t *a3) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t xe, xo, we, wo;
    const int32_t *xr;
/* tap: input words at [XR, #XO], weights at [wk, #WO] */
#define EN_TAP(XR, XO, WO)                                  \
    "ldrd    %[xe], %[xo], [" XR ", #" XO "]\n\t"           \
    "ldrd    %[we], %[wo], [%[wk], #" WO "]\n\t"            \
    "smlabb  %[a0], %[xe], %[we], %[a0]\n\t"                \
    "smlatt  %[a2], %[xe], %[we], %[a2]\n\t"                \
    "smlabb  %[a1], %[xo], %[wo], %[a1]\n\t"                \
    "smlatt  %[a3], %[xo], %[wo], %[a3]\n\t"
    __asm("add     %[xr], %[x], %[rw], lsl #2\n\t"
          EN_TAP("%[x]", "0", "0") EN_TAP("%[x]", "8", "8") EN_TAP("%[x]", "16", "16")
          EN_TAP("%[xr]", "0", "24") EN_TAP("%[xr]", "8", "32") EN_TAP("%[xr]", "16", "40")
          "add     %[xr], %[xr], %[rw], lsl #2\n\t"
          EN_TAP("%[xr]", "0", "48") EN_TAP("%[xr]", "8", "56") EN_TAP("%[xr]", "16", "64")
          : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [xe] "=&r"(xe),
            [xo] "=&r"(xo), [we] "=&r"(we), [wo] "=&r"(wo), [xr] "=&r"(xr)
          : [x] "r"(x), [rw] "r"(rw), [wk] "r"(wk)
          : "memory");
#undef EN_TAP
#else
    for (int32_t kh = 0; kh < 3; ++kh, x += rw, wk += 3) {
        ring_tap(x, wk[0], a0, a1, a2, a3);
        ring_tap(x + 2, wk[1], a0, a1, a2, a3);
        ring_tap(x + 4, wk[2], a0, a1, a2, a3);
    }
#endif
}

/* y[j * C] = requant(acc[4 * j]) for j < n, one channel, every constant in a register; `round`
 * and `clamp` are constants after inlining, so each loop is branch-free. SSAT does the final
 * halving and the int8 clamp in one instruction; act_min/act_max inside [-128, 127] are applied
 * after it only when they are narrower (clamping to a range after a wider one is the same
 * clamp). */
static inline __attribute__((always_inline)) void rq_loop(const en_rq *r, const int32_t *acc,
                                                          int32_t n, int8_t *y, int32_t C,
                                                          int round, int clamp) {
    const int32_t m = r->mult, ls = r->lshift, rs = r->rshift, zp2 = r->zp2;
    const int32_t lo = r->act_min, hi = r->act_max;
    for (; n > 0; --n, acc += 4, y += C) {
        const int32_t t = en_smmulr((int32_t)((uint32_t)acc[0] << ls), m);
        int32_t v = round ? en_ssat8((((t + (t >> 31)) >> rs) + zp2) >> 1) : en_ssat8(t + zp2);
        if (clamp) {
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
        }
        *y = (int8_t)v;
    }
}

static void rq_store(const en_rq *r, const int32_t *acc, int32_t n, int8_t *y, int32_t C) {
    const int clamp = r->act_min > EN_INT8_MIN || r->act_max < EN_INT8_MAX;
    if (r->rshift >= 0) {
        if (clamp) {
            rq_loop(r, acc, n, y, C, 1, 1);
        } else {
            rq_loop(r, acc, n, y, C, 1, 0);
        }
    } else if (clamp) {
        rq_loop(r, acc, n, y, C, 0, 1);
    } else {
        rq_loop(r, acc, n, y, C, 0, 0);
    }
}

/* Requantise and store the accumulators of n pixels of channels c..c+3 (acc[j][k]). */
static void band_store(const en_requant *q, int32_t c, int fits, const int32_t (*acc)[4],
                       int32_t n, int8_t *y, int32_t C) {
    for (int32_t k = 0; k < 4; ++k) {
        const int32_t qc = q->per_channel ? c + k : 0;
        const int32_t m = q->mult[qc], sh = q->shift[qc];
        if (fits) {
            const en_rq r = en_rq_make(m, sh, q->output_zp, q->act_min, q->act_max);
            rq_store(&r, &acc[0][k], n, y + k, C);
        } else {
            for (int32_t j = 0; j < n; ++j) {
                y[(size_t)j * C + k] =
                    en_requant_fast(acc[j][k], m, sh, q->output_zp, q->act_min, q->act_max);
            }
        }
    }
}

/* In place, "same" geometry (ring_ok), four channels at a time. For a group c..c+3 a stack
 * ring holds the KH input rows the current output row reads (slot r mod KH, twice), expanded
 * to int16 with the zero point subtracted (ring_fill), so a tap is one LDRD of the input, one
 * of the weights (sign-extended once per group) and four SMLABB / SMLATT, all at fixed offsets
 * from one input pointer. The accumulators of a band of whole output rows (up to BAND_PIXELS
 * pixels) are kept and requantised per channel with its constants in registers. Safety: output
 * row oh overwrites input row oh of these four channels only, and it is written after row
 * oh + pad_bottom (the last one it reads) entered the ring; rows above are read from the ring
 * only. The scratch is not used. Requantisation uses SMMULR (en_rq_apply's form) when the
 * accumulator bound allows it, else en_requant_fast; both are bit-exact with en_requant_s8. */
static void dw_in_place_rows(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                             int8_t *io, const en_dims *w_dims, const int8_t *w,
                             const int32_t *bias) {
    const int32_t H = in_dims->h, W = in_dims->w, C = in_dims->c;
    const int32_t KH = w_dims->h, KW = w_dims->w, taps = KH * KW;
    const int32_t pt = p->pad_top, row_px = W + KW - 1, rw = 2 * row_px;
    const int32_t band_rows = BAND_PIXELS / W;
    const int32_t offset = -q->input_zp;
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    int32_t ring[RING_WORDS];
    int32_t wk[RING_MAX_TAPS][2]; /* tap t's weights {c, c+2}, {c+1, c+3}, sign-extended */
    int32_t acc[BAND_PIXELS][4];
    for (int32_t b = 0; b < in_dims->n; ++b) {
        int8_t *batch = io + (size_t)b * H * W * C;
        for (int32_t c = 0; c < C; c += 4) {
            for (int32_t t = 0; t < taps; ++t) {
                const uint32_t wv = en_read_u32(w + (size_t)t * C + c);
                wk[t][0] = __sxtb16((int8x4_t)wv);
                wk[t][1] = en_sxtab16_ror8(0, wv);
            }
            int32_t b4[4];
            int fits = 1;
            for (int32_t k = 0; k < 4; ++k) {
                const int32_t qc = q->per_channel ? c + k : 0;
                b4[k] = bias != NULL ? bias[c + k] : 0;
                const int64_t bound =
                    (int64_t)taps * 255 * 128 + (b4[k] < 0 ? -(int64_t)b4[k] : b4[k]);
                fits &= en_rq_fits(bound, q->shift[qc]);
            }
            for (int32_t r = -pt; r < KH - 1 - pt; ++r) {
                const int32_t s = (r + KH) % KH;
                ring_fill(ring + s * rw, ring + (s + KH) * rw, batch + c, r, H, W, C,
                          p->pad_left, row_px, off2);
            }
            int32_t band0 = 0; /* first output row whose accumulators are held */
            for (int32_t oh = 0; oh < H; ++oh) {
                if (oh - band0 == band_rows) {
                    band_store(q, c, fits, (const int32_t(*)[4])acc, (oh - band0) * W,
                               batch + (size_t)band0 * W * C + c, C);
                    band0 = oh;
                }
                const int32_t r_new = oh - pt + KH - 1, s = r_new % KH;
                ring_fill(ring + s * rw, ring + (s + KH) * rw, batch + c, r_new, H, W, C,
                          p->pad_left, row_px, off2);
                const int32_t *x = ring + (size_t)((oh - pt + KH) % KH) * rw; /* kernel row 0 */
                int32_t(*a)[4] = acc + (size_t)(oh - band0) * W;
                for (int32_t ow = 0; ow < W; ++ow, ++a, x += 2) {
                    int32_t a0 = b4[0], a1 = b4[1], a2 = b4[2], a3 = b4[3];
                    if (KH == 3 && KW == 3) { /* the common 3x3 kernel, fully unrolled */
                        taps3x3(x, rw, (const int32_t(*)[2])wk, &a0, &a1, &a2, &a3);
                    } else {
                        const int32_t *wt = wk[0];
                        for (int32_t kh = 0; kh < KH; ++kh) {
                            const int32_t *xr = x + kh * rw;
                            for (int32_t kw = 0; kw < KW; ++kw, xr += 2, wt += 2) {
                                ring_tap(xr, wt, &a0, &a1, &a2, &a3);
                            }
                        }
                    }
                    (*a)[0] = a0;
                    (*a)[1] = a1;
                    (*a)[2] = a2;
                    (*a)[3] = a3;
                }
            }
            band_store(q, c, fits, (const int32_t(*)[4])acc, (H - band0) * W,
                       batch + (size_t)band0 * W * C + c, C);
        }
    }
}

/* In place: per channel, save its plane to scratch, then compute it over `io` (see
 * common/dw_plane.c for why that is safe for any geometry). */
static void dw_in_place_fast(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                             int8_t *io, const en_dims *w_dims, const int8_t *w,
                             const int32_t *bias, const en_dims *out_dims, int8_t *scratch) {
    const int32_t C = in_dims->c;
    const size_t plane = (size_t)in_dims->n * in_dims->h * in_dims->w;
    for (int32_t c = 0; c < C; ++c) {
        const int8_t *src = io + c;
        for (size_t i = 0; i < plane; ++i, src += C) {
            scratch[i] = *src;
        }
        dw_plane_fast(p, q, in_dims, scratch, w_dims, w, bias, out_dims, io, c);
    }
}
#endif

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
                        y[ch] = en_requant_fast(a, q->mult[qc], q->shift[qc], q->output_zp,
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
#if EN_HAVE_DSP
        if (ring_ok(p, in_dims, w_dims, out_dims)) {
            dw_in_place_rows(p, q, in_dims, out, w_dims, w, bias);
            return EN_OK;
        }
        if (w_dims->h <= PLANE_MAX_K && w_dims->w <= PLANE_MAX_K && p->dilation_w == 1) {
            dw_in_place_fast(p, q, in_dims, out, w_dims, w, bias, out_dims, (int8_t *)scratch);
            return EN_OK;
        }
#endif
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
