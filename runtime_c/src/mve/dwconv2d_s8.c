/* Helium (MVE) build of the depthwise convolution: same contract and results as ref/dwconv2d_s8.c.
 *
 * View. A map whose output rows are narrower than 8 pixels and whose columns are longer runs
 * transposed: image columns as rows (pixel step W * C, row step C, the filter read column by
 * column), so DS-CNN's 25x5 maps are 5 rows of 25 and the fixed cost of a row (ring loads, tap
 * addresses) and of a batch of accumulators is spread over 25 pixels (plan_view). Everything
 * below speaks of the view's rows and columns.
 *
 * Channels in lanes. Channels go in groups of G = 16 (8 when there are no more, or when a row of
 * 16 would need more tiles), one output pixel at a time: per tap, the group's input bytes and
 * weights are loaded widened to int16 (VLDRB.S16, eight channels per vector) and multiplied into
 * int32 by VMULLB / VMULLT (even / odd lanes): for 16 channels 2 input and 2 filter loads, 4
 * multiplies and 4 adds, 15 instructions per tap with the loop (inline asm: GCC 12 spills one
 * of the eight Q registers this needs on every tap). The four accumulators hold channels
 * {0,2,4,6}, {1,3,5,7}, {8,...,14}, {9,...,15}; a full group's are kept for up to ROW_CHUNK
 * pixels, then each accumulator is requantised with its constants in registers (mve/mve.h,
 * per-channel constants deinterleaved the same way once per group) and stored to every other
 * channel with a byte scatter. The last, partial group requantises pixel by pixel and
 * VMOVNT puts even and odd lanes back in channel order for a predicated store. One pixel at a
 * time keeps the per-pixel cost flat for the narrow rows of keyword-spotting models (5 columns)
 * and makes any stride and dilation plain addressing.
 *
 * Ring. For each group, tile of output columns and image, the input rows an output row needs are
 * copied (G bytes per pixel) into a ring of eff_KH = (KH - 1) * dilation_h + 1 rows on the stack,
 * covering the tile's input columns, with input_zp wherever a column lies outside the image;
 * a row above or below the image is a ring row of input_zp. So every tap of every window is a valid
 * ring byte, no window needs a bounds check, and padding taps hold input_zp. With
 *   acc = bias + sum w * (x - zp) = (bias - zp * sum w) + sum w * x
 * over the whole window (a padding tap adds w * zp - w * zp = 0, as the reference's skipped tap),
 * the raw int8 values are multiplied and the correction is computed once per group. The group's
 * filter is copied once, zero beyond the channel count, so no load needs predication; lanes past
 * the channel count are computed and not stored. A row too wide for the ring is cut into tiles
 * of output columns (out of place only).
 *
 * In place (out == in): group g's outputs land only on group g's bytes. Output row oh of an image
 * writes its flat pixels [oh * OW, (oh + 1) * OW); an input row r is copied into the ring at the
 * first output row that needs it, oh_r, so it is intact if oh_r * OW <= r * W (and OH * OW <=
 * H * W keeps an image's outputs out of later images' inputs). The kernel checks this for every
 * row (SAME and VALID geometries satisfy it). Transposed, output view row j lies on input view
 * row j when the shapes are equal (the only in-place transposed calls plan_view takes), which is
 * the same check with OW == W. A call that fails it, an in-place call whose rows
 * need tiles, or a kernel over 64 taps takes the reference channel-plane loops
 * (common/dw_plane.c).
 * Exactness: integer identities modulo 2^32; the reference accumulator fits int32 (kernels.h).
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/dw_plane.h"
#include "internal/fixedpoint.h"
#include "mve/mve.h"

enum {
    G_MAX = 16,         /* channels per group */
    RING_BYTES = 3072,  /* the ring's eff_KH rows: 3 KB of stack */
    MAX_TAPS = 64,      /* KH * KW; the group's filter copy is MAX_TAPS * 16 bytes */
    ROW_CHUNK = 8,      /* pixels whose accumulators wait for requantisation: 512 B of stack */
    TRANSPOSE_BELOW = 8, /* output rows narrower than this run transposed when columns are longer */
    SMALL_MAP = 5        /* maps with fewer output rows and columns than this run dw_small */
};

/* A call as the kernel sees it: image rows, or transposed (image columns as rows, the file
 * comment), with every step in bytes. */
typedef struct {
    const en_requant *q;
    int32_t n, c;             /* images, channels */
    int32_t h, w, oh, ow;     /* view rows and row lengths, input and output */
    int32_t kh, kw;           /* filter rows and columns in the view */
    int32_t sh, sw, dh, dw;   /* strides and dilations in the view */
    int32_t pt, pl;           /* padding before the first view row / pixel */
    size_t in_px, in_row;     /* bytes between input view pixels / rows */
    size_t out_px, out_row;   /* of the output */
    size_t w_row, w_col;      /* bytes between the filter's view rows / columns */
    int32_t g;                /* channels per group: 16 or 8 */
    int32_t eff_kh;           /* ring rows */
    int32_t eff_kw;           /* input columns one window spans */
    int32_t tile;             /* output columns per tile */
} plan_t;

/* Ring columns a tile of t output columns reads. */
static int32_t tile_cols(const plan_t *d, int32_t t) {
    return (t - 1) * d->sw + d->eff_kw;
}

/* Output columns per tile for a group of g channels (the whole row if it fits), or 0. */
static int32_t tile_for(const plan_t *d, int32_t g) {
    const int32_t ow = d->ow, budget = RING_BYTES / (d->eff_kh * g);
    if (tile_cols(d, ow) <= budget) {
        return ow;
    }
    /* (t - 1) * sw + eff_kw <= budget */
    const int32_t t = (budget - d->eff_kw) / d->sw + 1;
    return budget >= d->eff_kw ? en_min_i32(t, ow) : 0;
}

/* In place: every input row is copied into the ring before an output row overwrites it (the
 * file comment). */
static int in_place_safe(const plan_t *d) {
    if ((int64_t)d->oh * d->ow > (int64_t)d->h * d->w) {
        return 0;
    }
    int32_t next = 0; /* rows below `next` are loaded */
    for (int32_t oh = 0; oh < d->oh; ++oh) {
        const int32_t last = en_min_i32(oh * d->sh - d->pt + d->eff_kh - 1, d->h - 1);
        for (; next <= last; ++next) {
            if ((int64_t)oh * d->ow > (int64_t)next * d->w) {
                return 0;
            }
        }
    }
    return 1;
}

static void fill_bytes(int8_t *dst, int8x16_t v, int32_t n) {
    for (; n >= 16; n -= 16, dst += 16) {
        vstrbq_s8(dst, v);
    }
    if (n > 0) {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
    }
}

/* Input row `src` (channel c0 of pixel 0) into a ring row of `cols` columns whose column 0 is
 * input column iw0: the image's columns copied (nch bytes of each pixel), input_zp elsewhere. */
static void load_row(const plan_t *d, const int8_t *src, int32_t iw0, int32_t cols, int32_t nch,
                     int8x16_t zp, int8_t *dst) {
    const int32_t W = d->w, g = d->g;
    const ptrdiff_t C = (ptrdiff_t)d->in_px;
    const int32_t lo = en_clamp_i32(-iw0, 0, cols), hi = en_clamp_i32(W - iw0, lo, cols);
    fill_bytes(dst, zp, lo * g);
    fill_bytes(dst + hi * g, zp, (cols - hi) * g);
    src += (iw0 + lo) * C;
    dst += lo * g;
    if (nch == g) {
        if (g == 16) {
            for (int32_t i = lo; i < hi; ++i, src += C, dst += 16) {
                vstrbq_s8(dst, vldrbq_s8(src));
            }
        } else {
            for (int32_t i = lo; i < hi; ++i, src += C, dst += 8) {
                vstrbq_s16(dst, vldrbq_s16(src));
            }
        }
        return;
    }
    /* the last group: lanes past nch read 0 (their weights are 0 too) */
    const mve_pred16_t pr = vctp8q((uint32_t)nch), pg = vctp8q((uint32_t)g);
    for (int32_t i = lo; i < hi; ++i, src += C, dst += g) {
        vstrbq_p_s8(dst, vldrbq_z_s8(src, pr), pg);
    }
}

/* Per-group constants of one accumulator: four channels, even or odd lanes of a half. */
typedef struct {
    int32x4_t corr;
    en_mve_rq rq;
} lanes_t;

/* window_sums16 reads k[a].corr at k + 64 * a */
typedef char en_lanes_t_is_64_bytes[sizeof(lanes_t) == 64 ? 1 : -1];

/* Requantise one accumulator. */
static inline __attribute__((always_inline)) int32x4_t rq_lanes(int32x4_t acc, const lanes_t *k, int32_t zp, int32x4_t lo,
                                 int32x4_t hi) {
    return vminq_s32(vmaxq_s32(vaddq_n_s32(en_mve_mbqm(acc, &k->rq), zp), lo), hi);
}

/* One pixel's requantised channels c..c+7 (half 0: acc[0], acc[1]) or c+8..c+15 (half 1:
 * acc[2], acc[3]) as int16 lanes in channel order: the even lanes' values in the low halfwords,
 * the odd lanes' moved into the high ones (VMOVNT), ready for a byte store. Not forced inline:
 * at -O0 every inlined copy would get stack slots of its own in the callers' frames, which the
 * 8 KB stack of the -O0 test build does not hold (measured: the test hangs). */
static inline int16x8_t rq_half(const int32x4_t acc[4], const lanes_t *k, int half, int32_t zp,
                                int32x4_t lo, int32x4_t hi) {
    const int16x8_t even = vreinterpretq_s16_s32(rq_lanes(acc[2 * half], &k[2 * half], zp, lo, hi));
    return vmovntq_s32(even, rq_lanes(acc[2 * half + 1], &k[2 * half + 1], zp, lo, hi));
}

/* acc += the window of one output pixel for the group's 16 (HALVES = 2) or 8 channels: tap t
 * reads the ring at tap[t] + at and the filter at wt + t * g. Per tap: the input and filter
 * bytes widened to int16, VMULLB / VMULLT into the even / odd accumulators; 15 instructions per
 * 16 MACs with the loop. Inline assembly: GCC 12 keeps the four accumulators and four
 * temporaries in the eight Q registers only by spilling one per tap. (The widening loads take
 * low registers only, hence "l".) */
static inline __attribute__((always_inline)) void window_macs(
    const int8_t *const *tap, int32_t at, const int8_t *wt, int32_t taps, int32x4_t acc[4],
    const int HALVES) {
    int32x4_t e0 = acc[0], o0 = acc[1], e1 = acc[2], o1 = acc[3];
    const int8_t *x;
    if (HALVES == 2) {
        __asm volatile(
            "wls lr, %[n], 2f\n"
            "1:\n\t"
            "ldr %[x], [%[t]], #4\n\t"
            "add %[x], %[x], %[at]\n\t"
            "vldrb.s16 q0, [%[x]]\n\t"
            "vldrb.s16 q1, [%[w]], #8\n\t"
            "vmullb.s16 q2, q0, q1\n\t"
            "vmullt.s16 q3, q0, q1\n\t"
            "vadd.i32 %q[e0], %q[e0], q2\n\t"
            "vadd.i32 %q[o0], %q[o0], q3\n\t"
            "vldrb.s16 q0, [%[x], #8]\n\t"
            "vldrb.s16 q1, [%[w]], #8\n\t"
            "vmullb.s16 q2, q0, q1\n\t"
            "vmullt.s16 q3, q0, q1\n\t"
            "vadd.i32 %q[e1], %q[e1], q2\n\t"
            "vadd.i32 %q[o1], %q[o1], q3\n\t"
            "le lr, 1b\n"
            "2:\n"
            : [e0] "+w"(e0), [o0] "+w"(o0), [e1] "+w"(e1), [o1] "+w"(o1), [t] "+r"(tap),
              [w] "+l"(wt), [x] "=&l"(x)
            : [at] "r"(at), [n] "r"(taps)
            : "lr", "q0", "q1", "q2", "q3", "memory");
    } else {
        __asm volatile(
            "wls lr, %[n], 2f\n"
            "1:\n\t"
            "ldr %[x], [%[t]], #4\n\t"
            "add %[x], %[x], %[at]\n\t"
            "vldrb.s16 q0, [%[x]]\n\t"
            "vldrb.s16 q1, [%[w]], #8\n\t"
            "vmullb.s16 q2, q0, q1\n\t"
            "vmullt.s16 q3, q0, q1\n\t"
            "vadd.i32 %q[e0], %q[e0], q2\n\t"
            "vadd.i32 %q[o0], %q[o0], q3\n\t"
            "le lr, 1b\n"
            "2:\n"
            : [e0] "+w"(e0), [o0] "+w"(o0), [t] "+r"(tap), [w] "+l"(wt), [x] "=&l"(x)
            : [at] "r"(at), [n] "r"(taps)
            : "lr", "q0", "q1", "q2", "q3", "memory");
    }
    acc[0] = e0;
    acc[1] = o0;
    acc[2] = e1;
    acc[3] = o1;
}

/* window_macs for a full group, from the correction terms to memory in one asm block: out[a] =
 * k[a].corr + the window's sums (the accumulators never leave q4-q7). */
static inline __attribute__((always_inline)) void window_sums16(
    const int8_t *const *tap, int32_t at, const int8_t *wt, int32_t taps, const lanes_t *k,
    int32x4_t *out) {
    const int8_t *x;
    __asm volatile(
        "vldrw.32 q4, [%[k]]\n\t"
        "vldrw.32 q5, [%[k], #64]\n\t"
        "vldrw.32 q6, [%[k], #128]\n\t"
        "vldrw.32 q7, [%[k], #192]\n\t"
        "wls lr, %[n], 2f\n"
        "1:\n\t"
        "ldr %[x], [%[t]], #4\n\t"
        "add %[x], %[x], %[at]\n\t"
        "vldrb.s16 q0, [%[x]]\n\t"
        "vldrb.s16 q1, [%[w]], #8\n\t"
        "vmullb.s16 q2, q0, q1\n\t"
        "vmullt.s16 q3, q0, q1\n\t"
        "vadd.i32 q4, q4, q2\n\t"
        "vadd.i32 q5, q5, q3\n\t"
        "vldrb.s16 q0, [%[x], #8]\n\t"
        "vldrb.s16 q1, [%[w]], #8\n\t"
        "vmullb.s16 q2, q0, q1\n\t"
        "vmullt.s16 q3, q0, q1\n\t"
        "vadd.i32 q6, q6, q2\n\t"
        "vadd.i32 q7, q7, q3\n\t"
        "le lr, 1b\n"
        "2:\n\t"
        "vstrw.32 q4, [%[o]]\n\t"
        "vstrw.32 q5, [%[o], #16]\n\t"
        "vstrw.32 q6, [%[o], #32]\n\t"
        "vstrw.32 q7, [%[o], #48]\n"
        : [t] "+r"(tap), [w] "+l"(wt), [x] "=&l"(x)
        : [at] "r"(at), [n] "r"(taps), [k] "r"(k), [o] "r"(out)
        : "lr", "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "memory");
}

/* Output columns [ow0, ow0 + tw) of one output row for channels c0..c0 + nch - 1: tap[t] is
 * tap t's ring address for the tile's first output column, y that column's output at c0.
 * A full group's accumulators are kept for up to ROW_CHUNK pixels and then requantised one
 * accumulator at a time with its constants in registers (en_mve_requant_scatter: lanes are
 * every other channel); the last, partial group requantises pixel by pixel with predicated
 * stores. */
static inline __attribute__((always_inline)) void dw_row_g(
    const plan_t *d, const int8_t *const *tap, int32_t tw, const int8_t *wt, const lanes_t *k,
    int32_t nch, int8_t *y, const int HALVES) {
    const int32_t taps = d->kh * d->kw, C = (int32_t)d->out_px;
    const int32_t step = d->sw * 8 * HALVES;
    const en_requant *q = d->q;
    const int32_t zp = q->output_zp;
    const int32x4_t lo = vdupq_n_s32(q->act_min), hi = vdupq_n_s32(q->act_max);
    if (nch == 8 * HALVES) {
        static const uint32_t every_other[4] = {0, 2, 4, 6};
        const uint32x4_t lanes = vldrwq_u32(every_other);
        int32x4_t acc[ROW_CHUNK][4];
        for (int32_t i0 = 0; i0 < tw; i0 += ROW_CHUNK, y += ROW_CHUNK * C) {
            const int32_t n = en_min_i32(ROW_CHUNK, tw - i0);
            for (int32_t i = 0, at = i0 * step; i < n; ++i, at += step) {
                if (HALVES == 2) {
                    window_sums16(tap, at, wt, taps, k, acc[i]);
                    continue;
                }
                acc[i][0] = k[0].corr;
                acc[i][1] = k[1].corr;
                window_macs(tap, at, wt, taps, acc[i], HALVES);
            }
            for (int32_t a = 0; a < 2 * HALVES; ++a) {
                en_mve_requant_scatter((const int32_t *)&acc[0][a], (int32_t)sizeof acc[0], n,
                                       &k[a].rq, zp, lo, hi, lanes, y + 8 * (a / 2) + a % 2, C);
            }
        }
        return;
    }
    const mve_pred16_t p0 = vctp16q((uint32_t)nch), p1 = vctp16q((uint32_t)en_max_i32(nch - 8, 0));
    for (int32_t i = 0, at = 0; i < tw; ++i, at += step, y += C) {
        int32x4_t acc[4] = {k[0].corr, k[1].corr, HALVES == 2 ? k[2].corr : k[0].corr,
                            HALVES == 2 ? k[3].corr : k[0].corr};
        window_macs(tap, at, wt, taps, acc, HALVES);
        vstrbq_p_s16(y, rq_half(acc, k, 0, zp, lo, hi), p0);
        if (HALVES == 2 && nch > 8) {
            vstrbq_p_s16(y + 8, rq_half(acc, k, 1, zp, lo, hi), p1);
        }
    }
}

static void dw_row(const plan_t *d, const int8_t *const *tap, int32_t tw, const int8_t *wt,
                   const lanes_t *k, int32_t nch, int8_t *y) {
    if (d->g == 16) {
        dw_row_g(d, tap, tw, wt, k, nch, y, 2);
    } else {
        dw_row_g(d, tap, tw, wt, k, nch, y, 1);
    }
}

/* The group's filter (zero past nch) into wt, and its per-accumulator constants into k: corr is
 * bias - input_zp * sum w for kernels that multiply raw inputs (dw_ring), or the bias alone
 * (zp_in_corr 0: dw_small subtracts the zero point from each input). */
static void group_setup(const plan_t *d, const int8_t *w, const int32_t *bias, int32_t c0,
                        int32_t nch, int8_t *wt, lanes_t *k, int zp_in_corr) {
    const int32_t taps = d->kh * d->kw, g = d->g;
    const en_requant *q = d->q;
    const mve_pred16_t pw = vctp8q((uint32_t)nch);
    for (int32_t kh = 0, t = 0; kh < d->kh; ++kh) {
        for (int32_t kw = 0; kw < d->kw; ++kw, ++t) {
            /* wt has 16 spare bytes */
            vstrbq_s8(wt + t * g, vldrbq_z_s8(w + kh * d->w_row + kw * d->w_col + c0, pw));
        }
    }
    /* per channel j < g: the filter sums (int16 lanes: |sum| <= 64 * 128), correction and
     * requantisation constants, then deinterleaved */
    int16_t sums[G_MAX] __attribute__((aligned(8)));
    int16x8_t s0 = vdupq_n_s16(0), s1 = vdupq_n_s16(0);
    for (int32_t t = 0; zp_in_corr && t < taps; ++t) {
        s0 = vaddq_s16(s0, vldrbq_s16(wt + t * g));
        s1 = vaddq_s16(s1, vldrbq_s16(wt + t * g + 8)); /* g == 8: the next tap's, unused */
    }
    vst1q_s16(sums, s0);
    vst1q_s16(sums + 8, s1);
    int32_t corr[G_MAX], mult[G_MAX], shift[G_MAX];
    for (int32_t j = 0; j < g; ++j) {
        const int32_t s = sums[j];
        const int32_t c = c0 + (j < nch ? j : 0);
        const uint32_t b = bias != NULL && j < nch ? (uint32_t)bias[c] : 0u;
        corr[j] = (int32_t)(b - (zp_in_corr ? (uint32_t)q->input_zp * (uint32_t)s : 0u));
        mult[j] = q->mult[q->per_channel ? c : 0];
        shift[j] = q->shift[q->per_channel ? c : 0];
    }
    /* accumulator a (e0, o0, e1, o1) holds channels 8 * (a / 2) + 2 * lane + a % 2 */
    for (int32_t a = 0; a < g / 4; ++a) {
        int32_t cv[4], mv[4], sv[4];
        for (int32_t l = 0; l < 4; ++l) {
            const int32_t j = 8 * (a / 2) + 2 * l + a % 2;
            cv[l] = corr[j];
            mv[l] = mult[j];
            sv[l] = shift[j];
        }
        k[a].corr = vldrwq_s32(cv);
        k[a].rq = en_mve_rq_lanes(vldrwq_s32(mv), vldrwq_s32(sv));
    }
}

static void dw_ring(const plan_t *d, const int8_t *in, const int8_t *w, const int32_t *bias,
                    int8_t *out) {
    const int32_t C = d->c, g = d->g, R = d->eff_kh;
    const size_t image = (size_t)d->h * d->w * C; /* bytes per image, input and output */
    int8_t ring[RING_BYTES] __attribute__((aligned(16)));
    int8_t wt[MAX_TAPS * G_MAX + 16] __attribute__((aligned(16)));
    lanes_t k[G_MAX / 4];
    const int8x16_t zp = vdupq_n_s8((int8_t)d->q->input_zp);
    for (int32_t c0 = 0; c0 < C; c0 += g) {
        const int32_t nch = C - c0 < g ? C - c0 : g;
        group_setup(d, w, bias, c0, nch, wt, k, 1);
        for (int32_t ow0 = 0; ow0 < d->ow; ow0 += d->tile) {
            const int32_t tw = en_min_i32(d->tile, d->ow - ow0);
            const int32_t cols = tile_cols(d, tw), iw0 = ow0 * d->sw - d->pl;
            const size_t row_bytes = (size_t)cols * g;
            for (int32_t b = 0; b < d->n; ++b) {
                const int8_t *in_b = in + (size_t)b * image + c0;
                int8_t *out_b = out + (size_t)b * d->oh * d->ow * C + ow0 * d->out_px + c0;
                /* ring rows are counted from the first padding row (u = ih + pt >= 0):
                 * rows below `next` are in the ring, the next one goes to slot next % R */
                int32_t next = 0, slot = 0;
                for (int32_t oh = 0; oh < d->oh; ++oh) {
                    const int32_t top = oh * d->sh; /* u of the window's first row */
                    if (next < top) {
                        next = top;
                        slot = top % R;
                    }
                    for (; next < top + R; ++next, slot = slot + 1 == R ? 0 : slot + 1) {
                        const int32_t ih = next - d->pt;
                        int8_t *dst = ring + (size_t)slot * row_bytes;
                        if (ih < 0 || ih >= d->h) {
                            fill_bytes(dst, zp, (int32_t)row_bytes); /* padding row */
                        } else {
                            load_row(d, in_b + (size_t)ih * d->in_row, iw0, cols, nch, zp, dst);
                        }
                    }
                    /* tap (kh, kw) of the tile's first window; row u sits in slot u % R and the
                     * last one filled, next - 1, in slot - 1 */
                    const int8_t *tap[MAX_TAPS];
                    for (int32_t kh = 0, t = 0; kh < d->kh; ++kh) {
                        const int32_t at = slot - 1 - (next - 1 - (top + kh * d->dh));
                        const int8_t *row = ring + (size_t)(at < 0 ? at + R : at) * row_bytes;
                        for (int32_t kw = 0; kw < d->kw; ++kw, ++t) {
                            tap[t] = row + (size_t)kw * d->dw * g;
                        }
                    }
                    dw_row(d, tap, tw, wt, k, nch, out_b + (size_t)oh * d->out_row);
                }
            }
        }
    }
}

/* Maps under SMALL_MAP outputs on both axes (measured, four layers each: 2x2 maps 17-55 % fewer
 * instructions than dw_ring, 4x4 with 5x5 windows 11 %; from 5x5 maps on, dw_ring's uniform
 * windows win): each output straight from the input, over the taps
 * inside the image only (a 7x7 window on a 2x2 map has 4 of its 49 taps there), with the zero
 * point subtracted from each input (VSUB on the widened lanes) so no padding value is needed:
 * per tap and 16 channels two input and two filter loads, two subtractions, four multiplies and
 * four adds. A group's outputs go to a stack buffer first and are copied out after its last
 * input read, so in place needs no condition (groups own disjoint channels). */
/* The taps [k0, k1) of a window row or column starting at input position base (step dil) that lie
 * inside [0, n). */
static inline void small_range(int32_t base, int32_t dil, int32_t k, int32_t n, int32_t *k0, int32_t *k1) {
    *k0 = base < 0 ? (-base + dil - 1) / dil : 0;
    *k1 = base > n - 1 ? 0 : en_min_i32(k, (n - 1 - base) / dil + 1);
}

/* acc += the taps of one output pixel (rows kh0..kh1, columns kw0..kw1 of the window, inputs at
 * x for tap (kh0, kw0)) for a group of 8 * HALVES channels; PRED: the last group, whose loads
 * stop at the channel count. */
static inline __attribute__((always_inline)) void small_macs(
    const plan_t *d, const int8_t *x, const int8_t *f, int32_t rows, int32_t cols, int16x8_t zp,
    mve_pred16_t p0, mve_pred16_t p1, int32x4_t acc[4], const int HALVES, const int PRED) {
    const size_t xrow = (size_t)d->dh * d->in_row, xcol = (size_t)d->dw * d->in_px;
    const int32_t g = 8 * HALVES;
    int32x4_t e0 = acc[0], o0 = acc[1], e1 = acc[2], o1 = acc[3];
    for (int32_t r = 0; r < rows; ++r, x += xrow, f += d->kw * g) {
        const int8_t *xc = x, *fc = f;
        for (int32_t c = 0; c < cols; ++c, xc += xcol, fc += g) {
            const int16x8_t xa = vsubq_s16(PRED ? vldrbq_z_s16(xc, p0) : vldrbq_s16(xc), zp);
            const int16x8_t fa = vldrbq_s16(fc);
            e0 = vaddq_s32(e0, vmullbq_int_s16(xa, fa));
            o0 = vaddq_s32(o0, vmulltq_int_s16(xa, fa));
            if (HALVES == 2) {
                const int16x8_t xb = vsubq_s16(PRED ? vldrbq_z_s16(xc + 8, p1) : vldrbq_s16(xc + 8), zp);
                const int16x8_t fb = vldrbq_s16(fc + 8);
                e1 = vaddq_s32(e1, vmullbq_int_s16(xb, fb));
                o1 = vaddq_s32(o1, vmulltq_int_s16(xb, fb));
            }
        }
    }
    acc[0] = e0;
    acc[1] = o0;
    acc[2] = e1;
    acc[3] = o1;
}

/* One image of one group: every output pixel's requantised bytes to res (16 per pixel). */
static inline __attribute__((always_inline)) void small_group(
    const plan_t *d, const int8_t *in_b, const int8_t *wt, const lanes_t *k, int16x8_t zp,
    mve_pred16_t p0, mve_pred16_t p1, int8_t *res, const int HALVES, const int PRED) {
    const en_requant *q = d->q;
    const int32x4_t lo = vdupq_n_s32(q->act_min), hi = vdupq_n_s32(q->act_max);
    const int32_t g = 8 * HALVES;
    for (int32_t oh = 0; oh < d->oh; ++oh) {
        int32_t kh0, kh1;
        const int32_t ih = oh * d->sh - d->pt;
        small_range(ih, d->dh, d->kh, d->h, &kh0, &kh1);
        for (int32_t ow = 0; ow < d->ow; ++ow, res += 16) {
            int32_t kw0, kw1;
            const int32_t iw = ow * d->sw - d->pl;
            small_range(iw, d->dw, d->kw, d->w, &kw0, &kw1);
            int32x4_t acc[4] = {k[0].corr, k[1].corr, HALVES == 2 ? k[2].corr : k[0].corr,
                                HALVES == 2 ? k[3].corr : k[1].corr};
            if (kh1 > kh0 && kw1 > kw0) {
                const int8_t *x = in_b + (size_t)(ih + kh0 * d->dh) * d->in_row +
                                  (size_t)(iw + kw0 * d->dw) * d->in_px;
                small_macs(d, x, wt + (kh0 * d->kw + kw0) * g, kh1 - kh0, kw1 - kw0, zp, p0, p1, acc,
                           HALVES, PRED);
            }
            vstrbq_s16(res, rq_half(acc, k, 0, q->output_zp, lo, hi));
            if (HALVES == 2) {
                vstrbq_s16(res + 8, rq_half(acc, k, 1, q->output_zp, lo, hi));
            }
        }
    }
}

static void dw_small(const plan_t *d, const int8_t *in, const int8_t *w, const int32_t *bias,
                     int8_t *out) {
    const int32_t C = d->c, g = d->g;
    int8_t wt[MAX_TAPS * G_MAX + 16] __attribute__((aligned(16)));
    int8_t res[SMALL_MAP * SMALL_MAP * G_MAX] __attribute__((aligned(16)));
    lanes_t k[G_MAX / 4];
    const int16x8_t zp = vdupq_n_s16((int16_t)d->q->input_zp);
    for (int32_t c0 = 0; c0 < C; c0 += g) {
        const int32_t nch = C - c0 < g ? C - c0 : g;
        const mve_pred16_t p0 = vctp16q((uint32_t)nch), p1 = vctp16q((uint32_t)en_max_i32(nch - 8, 0));
        group_setup(d, w, bias, c0, nch, wt, k, 0);
        for (int32_t b = 0; b < d->n; ++b) {
            const int8_t *in_b = in + (size_t)b * d->h * d->w * C + c0;
            if (g == 16 && nch == 16) {
                small_group(d, in_b, wt, k, zp, p0, p1, res, 2, 0);
            } else if (g == 16) {
                small_group(d, in_b, wt, k, zp, p0, p1, res, 2, 1);
            } else {
                small_group(d, in_b, wt, k, zp, p0, p1, res, 1, 1);
            }
            /* every input of this group and image is read: copy its outputs out */
            const mve_pred16_t pn = vctp8q((uint32_t)nch);
            int8_t *y = out + (size_t)b * d->oh * d->ow * C + c0;
            const int8_t *r = res;
            for (int32_t oh = 0; oh < d->oh; ++oh) {
                for (int32_t ow = 0; ow < d->ow; ++ow, r += 16) {
                    vstrbq_p_s8(y + (size_t)oh * d->out_row + (size_t)ow * d->out_px, vldrbq_s8(r), pn);
                }
            }
        }
    }
}

/* The call as image rows, or transposed when its rows are narrow and its columns longer
 * (DS-CNN's 25x5 maps run as 5 rows of 25: the fixed cost of a row and of a batch of
 * accumulators is then spread over 25 pixels). In place, the transposed view needs the output
 * shape to be the input's: output view row j then overwrites input view row j only, as
 * in_place_safe assumes of rows of equal length. */
static void plan_view(const en_conv_params *p, const en_requant *q, const en_dims *id,
                      const en_dims *wd, const en_dims *od, int in_place, plan_t *d) {
    const size_t C = (size_t)id->c;
    const int transpose = od->w < TRANSPOSE_BELOW && od->h > od->w &&
                          (!in_place || (od->h == id->h && od->w == id->w));
    if (!transpose) {
        *d = (plan_t){q, id->n, id->c, id->h, id->w, od->h, od->w, wd->h, wd->w, p->stride_h,
                      p->stride_w, p->dilation_h, p->dilation_w, p->pad_top, p->pad_left, C,
                      (size_t)id->w * C, C, (size_t)od->w * C, (size_t)wd->w * C, C, 0, 0, 0, 0};
    } else {
        *d = (plan_t){q, id->n, id->c, id->w, id->h, od->w, od->h, wd->w, wd->h, p->stride_w,
                      p->stride_h, p->dilation_w, p->dilation_h, p->pad_left, p->pad_top,
                      (size_t)id->w * C, C, (size_t)od->w * C, C, C, (size_t)wd->w * C, 0, 0, 0, 0};
    }
    d->eff_kh = (d->kh - 1) * d->dh + 1;
    d->eff_kw = (d->kw - 1) * d->dw + 1;
    /* 16 channels per group, or 8 when there are no more or a row of 16 needs more tiles */
    d->g = 16;
    d->tile = tile_for(d, 16);
    const int32_t t8 = tile_for(d, 8);
    if (d->c <= 8 || t8 > d->tile) {
        d->g = 8;
        d->tile = t8;
    }
}

en_status en_dwconv2d_s8(const en_conv_params *p, const en_requant *q, const en_dims *in_dims,
                         const int8_t *in, const en_dims *w_dims, const int8_t *w,
                         const int32_t *bias, const en_dims *out_dims, int8_t *out,
                         void *scratch) {
    if (en_dw_check_args(p, q, in_dims, in, w_dims, w, out_dims, out, scratch) != EN_OK) {
        return EN_ERR_ARG;
    }
    plan_t d;
    plan_view(p, q, in_dims, w_dims, out_dims, out == in, &d);
    if (d.oh < SMALL_MAP && d.ow < SMALL_MAP && d.kh * d.kw <= MAX_TAPS) {
        dw_small(&d, in, w, bias, out);
        return EN_OK;
    }
    const int ok = d.tile > 0 && d.kh * d.kw <= MAX_TAPS &&
                   (out != in || (d.tile == d.ow && in_place_safe(&d)));
    if (ok) {
        dw_ring(&d, in, w, bias, out);
        return EN_OK;
    }
    if (out == in) {
        en_dw_in_place(p, q, in_dims, out, w_dims, w, bias, out_dims, (int8_t *)scratch);
        return EN_OK;
    }
    for (int32_t c = 0; c < in_dims->c; ++c) {
        en_dw_channel(p, q, in_dims, in + c, (size_t)in_dims->c, w_dims, w, bias, out_dims, out, c);
    }
    return EN_OK;
}

/* No strategy of its own for strided windows in this build (see kernels.h). */
en_status en_dwconv2d_strided_s8(const en_conv_params *p, const en_requant *q,
                                 const en_dims *in_dims, const int8_t *in, const en_dims *w_dims,
                                 const int8_t *w, const int32_t *bias, const en_dims *out_dims,
                                 int8_t *out, void *scratch) {
    return en_dwconv2d_s8(p, q, in_dims, in, w_dims, w, bias, out_dims, out, scratch);
}
