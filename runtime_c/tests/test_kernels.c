/* Unit tests of the int8 kernels: hand-worked cases (values worked out in comments), edge cases
 * (1x1, C=1, all-padding windows, saturating clamps), aliasing modes, and failure cases.
 *
 * Bit-exactness against TFLite Micro on random cases lives in
 * tests/runtime_c/test_kernels_vs_tflm.py; this file pins down semantics a reader can check by
 * hand. Each test prints "EN_TEST <name> PASS" (or FAIL with the first mismatch); the exit code
 * is the number of failures. Host build: make -C runtime_c test (ASan + UBSan).
 */
#include <stdio.h>
#include <string.h>

#include "edgenas/kernels.h"
#include "internal/conv_packed.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

static int g_failures;
static int g_current_ok;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            if (g_current_ok) {                                                       \
                printf("  check failed at line %d: %s\n", __LINE__, #cond);           \
            }                                                                         \
            g_current_ok = 0;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_BYTES(got, want, n) CHECK(memcmp((got), (want), (n)) == 0)

static void run(const char *name, void (*fn)(void)) {
    g_current_ok = 1;
    fn();
    printf("EN_TEST %s %s\n", name, g_current_ok ? "PASS" : "FAIL");
    g_failures += !g_current_ok;
}

/* Deterministic bytes for the consistency tests (LCG; no libc rand state). */
static void fill(int8_t *p, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (int8_t)(seed >> 24);
    }
}

static const int32_t HALF_M = 1 << 30; /* 0.5 in Q31: with shift 0 multiplies by 0.5 */

/* ---- fixed-point primitives ------------------------------------------------------------- */

static void test_fixedpoint(void) {
    /* The one saturating case of SRDHM. */
    CHECK(en_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX);
    /* 5 * 0.5 = 2.5 rounds up to 3; -105 * 0.5 = -52.5 rounds toward +inf to -52: the nudge is
     * (1 - 2^30) and the int64 division truncates toward zero. */
    CHECK(en_srdhm(5, HALF_M) == 3);
    CHECK(en_srdhm(-105, HALF_M) == -52);
    /* RoundingDivideByPOT is round-half-away-from-zero: 5/2 = 3, -5/2 = -3, -6/4 = -2. */
    CHECK(en_rdbpot(5, 1) == 3);
    CHECK(en_rdbpot(-5, 1) == -3);
    CHECK(en_rdbpot(-6, 2) == -2);
    CHECK(en_rdbpot(7, 0) == 7);
    /* MBQM(100, 0.5 * 2^-1) = 25; MBQM(3, 0.5 * 2^2) = 3 * 2 = 6 (left shift first). */
    CHECK(en_mbqm(100, HALF_M, -1) == 25);
    CHECK(en_mbqm(3, HALF_M, 2) == 6);
    /* Double rounding: 13 * 0.5 = 6.5 -> 7, then 7 / 2 = 3.5 -> 4 (single rounding gives 3). */
    CHECK(en_mbqm(13, HALF_M, -1) == 4);
}

/* The arm build's shortcut requantisation equals en_mbqm everywhere (see requant_fast.h): edge
 * values of x around 0, +-2^k and the int32 limits, edge and random multipliers, every shift. */
static void test_requant_fast_matches_mbqm(void) {
    const int32_t edge_x[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 255, -255, 1 << 15, -(1 << 15),
                              (1 << 30) - 1, 1 << 30, -(1 << 30), INT32_MAX, INT32_MIN,
                              INT32_MAX - 1, INT32_MIN + 1, 1234567, -7654321};
    const int32_t edge_m[] = {0, 1, 1 << 30, (1 << 30) + 1, 1500000000, INT32_MAX, INT32_MAX - 1};
    uint32_t seed = 12345u;
    int bad = 0;
    for (int32_t shift = -31; shift <= 30 && !bad; ++shift) {
        for (size_t mi = 0; mi < sizeof edge_m / sizeof edge_m[0] + 8; ++mi) {
            int32_t m;
            if (mi < sizeof edge_m / sizeof edge_m[0]) {
                m = edge_m[mi];
            } else {
                seed = seed * 1664525u + 1013904223u;
                m = (int32_t)((1u << 30) | (seed >> 2));
            }
            for (size_t xi = 0; xi < sizeof edge_x / sizeof edge_x[0] + 200; ++xi) {
                int32_t x;
                if (xi < sizeof edge_x / sizeof edge_x[0]) {
                    x = edge_x[xi];
                } else {
                    seed = seed * 1664525u + 1013904223u;
                    x = (int32_t)seed >> (int)(seed % 31u); /* all magnitudes */
                }
                if (en_mbqm_fast(x, m, shift) != en_mbqm(x, m, shift)) {
                    printf("  x=%ld m=%ld shift=%ld: fast %ld, ref %ld\n", (long)x, (long)m,
                           (long)shift, (long)en_mbqm_fast(x, m, shift), (long)en_mbqm(x, m, shift));
                    bad = 1;
                    break;
                }
            }
        }
    }
    CHECK(!bad);
}

/* ---- conv2d ----------------------------------------------------------------------------- */

static const en_conv_params P1 = {1, 1, 1, 1, 0, 0}; /* stride 1, dilation 1, no padding */

static void test_conv_1x1_hand(void) {
    /* x = [10, -20], input_zp = -10 -> x - zp = [20, -10].
     * co0: w = [1, 2],  bias 5:  20 - 20 + 5 = 5;      5 * 0.5 = 2.5 -> 3;     + zp 1 -> 4
     * co1: w = [-3, 4], bias -5: -60 - 40 - 5 = -105;  -105 * 0.5 = -52.5 -> -52; + 1 -> -51 */
    const int8_t x[2] = {10, -20};
    const int8_t w[4] = {1, 2, -3, 4};
    const int32_t bias[2] = {5, -5};
    const int32_t mult[2] = {HALF_M, HALF_M};
    const int32_t shift[2] = {0, 0};
    const en_requant q = {-10, 1, mult, shift, 1, -128, 127};
    const en_dims in_d = {1, 1, 1, 2}, w_d = {2, 1, 1, 2}, out_d = {1, 1, 1, 2};
    int8_t out[2];
    CHECK(en_conv2d_s8(&P1, &q, &in_d, x, &w_d, w, bias, &out_d, out) == EN_OK);
    const int8_t want[2] = {4, -51};
    CHECK_BYTES(out, want, 2);
}

static void test_conv_3x3_padding_hand(void) {
    /* 2x2 input, one channel, 3x3 all-ones kernel, SAME padding (pad 1): every output sees all
     * four inputs (the rest of its window is padding). x = [1, 2, 3, 4], zp 0, no bias:
     * acc = 10 at every position; multiplier 1.0 (2^30, shift 1) -> 10. */
    const int8_t x[4] = {1, 2, 3, 4};
    int8_t w[9];
    memset(w, 1, sizeof w);
    const int32_t mult = HALF_M, shift = 1;
    const en_requant q = {0, 0, &mult, &shift, 0, -128, 127};
    const en_conv_params p = {1, 1, 1, 1, 1, 1};
    const en_dims in_d = {1, 2, 2, 1}, w_d = {1, 3, 3, 1}, out_d = {1, 2, 2, 1};
    int8_t out[4];
    CHECK(en_conv2d_s8(&p, &q, &in_d, x, &w_d, w, NULL, &out_d, out) == EN_OK);
    const int8_t want[4] = {10, 10, 10, 10};
    CHECK_BYTES(out, want, 4);
}

static void test_conv_all_padding_window(void) {
    /* Dilation 2 on a 1x1 input with pad 2: the only in-bounds tap is the kernel centre
     * (kh = kw = 1 reads input row/col -2 + 2 = 0). w centre = 3, x = 5, zp 1, bias 100:
     * acc = 3 * 4 + 100 = 112; * 0.5 = 56. */
    const int8_t x[1] = {5};
    int8_t w[9] = {9, 9, 9, 9, 3, 9, 9, 9, 9};
    const int32_t bias[1] = {100};
    const int32_t mult = HALF_M, shift = 0;
    const en_requant q = {1, 0, &mult, &shift, 0, -128, 127};
    const en_conv_params p = {1, 1, 2, 2, 2, 2};
    const en_dims in_d = {1, 1, 1, 1}, w_d = {1, 3, 3, 1}, out_d = {1, 1, 1, 1};
    int8_t out[1];
    CHECK(en_conv2d_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, out) == EN_OK);
    CHECK(out[0] == 56);
}

static void test_conv_saturating_clamp(void) {
    /* A bias of 100000 saturates to 127; with relu bounds [out_zp = -5, 127] a bias of -100000
     * clamps to -5 instead of -128. */
    const int8_t x[1] = {0};
    const int8_t w[2] = {1, 1};
    const int32_t bias[2] = {100000, -100000};
    const int32_t mult[2] = {HALF_M, HALF_M}, shift[2] = {0, 0};
    const en_requant q = {0, -5, mult, shift, 1, -5, 127};
    const en_dims in_d = {1, 1, 1, 1}, w_d = {2, 1, 1, 1}, out_d = {1, 1, 1, 2};
    int8_t out[2];
    CHECK(en_conv2d_s8(&P1, &q, &in_d, x, &w_d, w, bias, &out_d, out) == EN_OK);
    CHECK(out[0] == 127 && out[1] == -5);
}

static void test_conv_general_matches_pointwise(void) {
    /* A 1x1 conv with stride 2 takes the general path; on the even pixels it must equal the
     * pointwise path run on the subsampled input. */
    enum { H = 6, W = 6, CI = 5, CO = 3 };
    int8_t x[H * W * CI], xs[3 * 3 * CI], w[CO * CI], o1[3 * 3 * CO], o2[3 * 3 * CO];
    fill(x, sizeof x, 1);
    fill(w, sizeof w, 2);
    for (int h = 0; h < 3; ++h)
        for (int ww = 0; ww < 3; ++ww) memcpy(xs + (h * 3 + ww) * CI, x + (2 * h * W + 2 * ww) * CI, CI);
    const int32_t bias[CO] = {7, -300, 1234};
    const int32_t mult[CO] = {1500000000, 1100000000, 2000000000}, shift[CO] = {-8, -9, -10};
    const en_requant q = {3, -7, mult, shift, 1, -128, 127};
    const en_conv_params p2 = {2, 2, 1, 1, 0, 0};
    const en_dims in_d = {1, H, W, CI}, ins_d = {1, 3, 3, CI}, w_d = {CO, 1, 1, CI};
    const en_dims out_d = {1, 3, 3, CO};
    CHECK(en_conv2d_s8(&p2, &q, &in_d, x, &w_d, w, bias, &out_d, o1) == EN_OK);
    CHECK(en_conv2d_s8(&P1, &q, &ins_d, xs, &w_d, w, bias, &out_d, o2) == EN_OK);
    CHECK_BYTES(o1, o2, sizeof o1);
}

/* ---- fused residual add ---------------------------------------------------------------- */

/* ADD with equal scales everywhere and zero points 0: in multipliers 0.5 (2^30, 0), output
 * multiplier 2s / (2^20 s) = 2^-19 = 0.5 * 2^-18 -> (2^30, -18). Result: x1 + x2, saturated. */
static const en_add_quant ADD_PLAIN = {0, 0, 0, HALF_M, 0, HALF_M, 0, HALF_M, -18, 20, -128, 127, NULL};

static void test_conv_add_hand(void) {
    /* conv: x = [4], w = [[1], [2]], multiplier 1.0 -> [4, 8]; skip = [3, 120]:
     * out = [4 + 3, 8 + 120 -> saturates at 127] = [7, 127], written over skip. */
    const int8_t x[1] = {4};
    const int8_t w[2] = {1, 2};
    const int32_t mult = HALF_M, shift = 1;
    const en_requant q = {0, 0, &mult, &shift, 0, -128, 127};
    const en_dims in_d = {1, 1, 1, 1}, w_d = {2, 1, 1, 1}, out_d = {1, 1, 1, 2};
    int8_t skip[2] = {3, 120};
    CHECK(en_conv2d_add_s8(&P1, &q, &ADD_PLAIN, &in_d, x, &w_d, w, NULL, skip, &out_d, skip) ==
          EN_OK);
    const int8_t want[2] = {7, 127};
    CHECK_BYTES(skip, want, 2);
}

static void test_conv_add_in_place_matches_copy(void) {
    enum { H = 3, W = 4, CI = 6, CO = 5 };
    int8_t x[H * W * CI], w[CO * CI], skip[H * W * CO], skip2[H * W * CO], out[H * W * CO];
    fill(x, sizeof x, 3);
    fill(w, sizeof w, 4);
    fill(skip, sizeof skip, 5);
    memcpy(skip2, skip, sizeof skip);
    const int32_t mult[CO] = {1300000000, 1400000000, 1500000000, 1600000000, 1700000000};
    const int32_t shift[CO] = {-9, -9, -10, -10, -11};
    const en_requant q = {-2, 4, mult, shift, 1, -128, 127};
    const en_add_quant a = {4, -9, 1, 1200000000, -1, HALF_M, 0, 1800000000, -18, 20, -100, 100, NULL};
    const en_dims in_d = {1, H, W, CI}, w_d = {CO, 1, 1, CI}, out_d = {1, H, W, CO};
    CHECK(en_conv2d_add_s8(&P1, &q, &a, &in_d, x, &w_d, w, NULL, skip, &out_d, out) == EN_OK);
    CHECK(en_conv2d_add_s8(&P1, &q, &a, &in_d, x, &w_d, w, NULL, skip2, &out_d, skip2) == EN_OK);
    CHECK_BYTES(out, skip2, sizeof out);
}

static void test_conv_add_3x3_matches_conv_then_add(void) {
    /* Any geometry fuses: a 3x3 stride-2 SAME conv + ADD over its skip equals en_conv2d_s8
     * followed by en_add_s8, in place and out of place. */
    enum { H = 7, W = 6, CI = 5, CO = 6, OH = 4, OW = 3 };
    int8_t x[H * W * CI], w[CO * 9 * CI], conv[OH * OW * CO], want[OH * OW * CO];
    int8_t skip[OH * OW * CO], skip2[OH * OW * CO], out[OH * OW * CO];
    fill(x, sizeof x, 31);
    fill(w, sizeof w, 32);
    fill(skip, sizeof skip, 33);
    memcpy(skip2, skip, sizeof skip);
    const int32_t bias[CO] = {100, -2000, 0, 5, 77, -1};
    const int32_t mult[CO] = {1300000000, 1400000000, 1500000000, 1600000000, 1700000000, 1 << 30};
    const int32_t shift[CO] = {-9, -8, -10, -10, -11, -7};
    const en_requant q = {-2, 4, mult, shift, 1, -128, 127};
    const en_add_quant a = {4, -9, 1, 1200000000, -1, HALF_M, 0, 1800000000, -18, 20, -100, 100, NULL};
    const en_conv_params p = {2, 2, 1, 1, 1, 1};
    const en_dims in_d = {1, H, W, CI}, w_d = {CO, 3, 3, CI}, out_d = {1, OH, OW, CO};
    CHECK(en_conv2d_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, conv) == EN_OK);
    CHECK(en_add_s8(&a, OH * OW * CO, conv, skip, want) == EN_OK);
    CHECK(en_conv2d_add_s8(&p, &q, &a, &in_d, x, &w_d, w, bias, skip, &out_d, out) == EN_OK);
    CHECK_BYTES(out, want, sizeof out);
    CHECK(en_conv2d_add_s8(&p, &q, &a, &in_d, x, &w_d, w, bias, skip2, &out_d, skip2) == EN_OK);
    CHECK_BYTES(skip2, want, sizeof want);
}

/* ---- packed conv ------------------------------------------------------------------------- */

enum { PK_MAX_W = 4096, PK_MAX_X = 4096, PK_MAX_Y = 4096 };

static void pack_weights(const en_dims *wd, const int8_t *w, int8_t *packed) {
    memset(packed, 0, en_conv2d_packed_count(wd) * sizeof *packed);
    for (int32_t o = 0; o < wd->n; ++o)
        for (int32_t kh = 0; kh < wd->h; ++kh)
            for (int32_t kw = 0; kw < wd->w; ++kw)
                for (int32_t ci = 0; ci < wd->c; ++ci)
                    packed[en_packed_index(wd, o, kh, kw, ci)] =
                        w[((o * wd->h + kh) * wd->w + kw) * wd->c + ci];
}

/* en_conv2d_packed_s8 (and its fused add) equal the unpacked kernels on geometries that take
 * every path of the arm build: C_in % 4 == 0 (blocks expanded straight from the input),
 * C_in % 4 != 0 (window copied first), a window too large for the column buffer (one-pixel
 * loop), dilation, pixel counts that are not a multiple of 4, all-padding windows, per-tensor
 * requantisation, no bias, and (last case) a positive shift with a large bias and an ADD
 * output shift > 0, which take the exact 64-bit requantisation instead of SMMULR. */
static void test_conv_packed_matches_unpacked(void) {
    static const int32_t cases[][10] = {
        /* h, w, cin, cout, k, stride, dil, pad_t, pad_l, per_channel */
        {6, 5, 8, 8, 3, 1, 1, 1, 1, 1},  {7, 7, 3, 16, 3, 1, 1, 1, 1, 1},
        {9, 4, 1, 6, 3, 2, 1, 1, 1, 1},  {5, 5, 4, 5, 5, 2, 1, 2, 2, 0},
        {4, 4, 2, 3, 1, 1, 1, 0, 0, 1},  {6, 6, 5, 7, 3, 1, 2, 2, 2, 1},
        {3, 3, 12, 4, 7, 1, 1, 3, 3, 1}, {12, 12, 6, 4, 9, 1, 1, 4, 4, 1},
        {2, 2, 4, 9, 5, 1, 1, 4, 4, 1},  {8, 8, 16, 2, 1, 2, 1, 0, 0, 1},
        {5, 3, 8, 6, 3, 1, 1, 1, 1, 1},
    };
    static int8_t x[PK_MAX_X], w[PK_MAX_W], o1[PK_MAX_Y], o2[PK_MAX_Y], skip[PK_MAX_Y];
    static int8_t s1[PK_MAX_Y], s2[PK_MAX_Y];
    static int8_t packed[2 * PK_MAX_W];
    int32_t mult[16], shift[16], bias[16];
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; ++t) {
        const int32_t *c = cases[t];
        const int32_t k = c[4], st = c[5], dil = c[6];
        const int32_t oh = (c[0] + 2 * c[7] - (k - 1) * dil - 1) / st + 1;
        const int32_t ow = (c[1] + 2 * c[8] - (k - 1) * dil - 1) / st + 1;
        const en_dims in_d = {1, c[0], c[1], c[2]}, w_d = {c[3], k, k, c[2]};
        const en_dims out_d = {1, oh, ow, c[3]};
        const en_conv_params p = {st, st, dil, dil, c[7], c[8]};
        const size_t nx = (size_t)c[0] * c[1] * c[2], nw = (size_t)c[3] * k * k * c[2];
        const size_t ny = (size_t)oh * ow * c[3];
        fill(x, nx, 40 + (uint32_t)t);
        fill(w, nw, 60 + (uint32_t)t);
        fill(skip, ny, 80 + (uint32_t)t);
        const int last = t + 1 == sizeof cases / sizeof cases[0];
        for (int32_t i = 0; i < c[3]; ++i) {
            mult[i] = 1100000000 + 60000000 * i;
            shift[i] = last ? 2 - i % 2 : -6 - i % 4;
            bias[i] = last ? (i % 2 ? -1 : 1) * (1 << 27) + i : 500 * i - 3000;
        }
        pack_weights(&w_d, w, packed);
        const en_requant q = {(int32_t)t * 13 - 60, 5 - (int32_t)t, mult, shift, c[9], -128, 127};
        const int32_t *b = t % 3 == 2 ? NULL : bias;
        memset(o1, 0, ny);
        memset(o2, 1, ny);
        CHECK(en_conv2d_s8(&p, &q, &in_d, x, &w_d, w, b, &out_d, o1) == EN_OK);
        CHECK(en_conv2d_packed_s8(&p, &q, &in_d, x, &w_d, packed, b, &out_d, o2) == EN_OK);
        CHECK_BYTES(o1, o2, ny);
        const en_add_quant a = {q.output_zp, -9, 1, 1200000000, -1, HALF_M, 0, 1800000000,
                                last ? 1 : -18, 20, -100, 100, NULL};
        memcpy(s1, skip, ny);
        memcpy(s2, skip, ny);
        CHECK(en_conv2d_add_s8(&p, &q, &a, &in_d, x, &w_d, w, b, s1, &out_d, s1) == EN_OK);
        CHECK(en_conv2d_add_packed_s8(&p, &q, &a, &in_d, x, &w_d, packed, b, s2, &out_d, s2) ==
              EN_OK);
        CHECK_BYTES(s1, s2, ny);
        if (!g_current_ok) {
            printf("  case %zu differs\n", t);
            return;
        }
    }
    const en_dims w_d = {5, 3, 2, 7};
    CHECK(en_conv2d_packed_count(&w_d) == 5 * 44); /* L = 3 * 2 * 7 = 42 -> L4 = 44 per channel */
}

/* In place over its input, one call, equals the unpacked out-of-place kernel: pixel counts that leave
 * every tail (0..3 pixels after the groups of four), C_in not a multiple of 4, C_out == C_in
 * and C_out < C_in, right and left shifts, narrow activation ranges, more channels than one
 * requantisation batch. */
static void test_conv_packed_in_place_matches_copy(void) {
    static const int32_t cases[][7] = {
        /* h, w, cin, cout, shift (or 1: alternate left/right), act_min, act_max */
        {5, 5, 64, 64, -7, -128, 127}, {3, 3, 16, 8, 1, -128, 127}, {2, 3, 6, 6, -5, -20, 90},
        {1, 7, 5, 3, -9, -128, 127},   {4, 2, 40, 36, 1, 0, 127},    {1, 1, 4, 4, -6, -128, 6},
    };
    enum { MAX_PIX = 25, MAX_C = 64 };
    static int8_t x[MAX_PIX * MAX_C], io[MAX_PIX * MAX_C], want[MAX_PIX * MAX_C];
    static int8_t w[MAX_C * MAX_C], packed[MAX_C * MAX_C];
    int32_t mult[MAX_C], shift[MAX_C], bias[MAX_C];
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; ++t) {
        const int32_t *c = cases[t];
        const en_dims in_d = {1, c[0], c[1], c[2]}, w_d = {c[3], 1, 1, c[2]};
        const en_dims out_d = {1, c[0], c[1], c[3]};
        const en_conv_params p = {1, 1, 1, 1, 0, 0};
        const size_t nx = (size_t)c[0] * c[1] * c[2], ny = (size_t)c[0] * c[1] * c[3];
        fill(x, nx, 90 + (uint32_t)t);
        fill(w, (size_t)c[3] * c[2], 100 + (uint32_t)t);
        for (int32_t i = 0; i < c[3]; ++i) {
            mult[i] = 1100000000 + 13000000 * i;
            shift[i] = c[4] == 1 ? (i % 2 ? 1 : -3) : c[4] - i % 3;
            bias[i] = 400 * i - 5000;
        }
        pack_weights(&w_d, w, packed);
        const en_requant q = {(int32_t)t * 17 - 40, 3 - (int32_t)t, mult, shift, t != 5,
                              c[5], c[6]};
        CHECK(en_conv2d_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, want) == EN_OK);
        memcpy(io, x, nx);
        CHECK(en_conv2d_packed_in_place_s8(&q, &in_d, io, &w_d, packed, bias, &out_d) == EN_OK);
        CHECK_BYTES(io, want, ny);
        if (!g_current_ok) {
            printf("  case %zu differs\n", t);
            return;
        }
    }
    /* refused, io untouched: C_out > C_in, a 3x3 filter, C_in above the stack buffer */
    const int32_t m1 = HALF_M, s1 = 0;
    const en_requant q = {0, 0, &m1, &s1, 0, -128, 127};
    const en_dims in_d = {1, 2, 2, 4}, out_d = {1, 2, 2, 8}, w_d = {8, 1, 1, 4};
    const en_dims w3 = {4, 3, 3, 4}, big_in = {1, 1, 1, EN_CONV_IN_PLACE_MAX_CIN + 4};
    const en_dims big_w = {4, 1, 1, EN_CONV_IN_PLACE_MAX_CIN + 4}, big_out = {1, 1, 1, 4};
    memcpy(io, x, 16);
    CHECK(en_conv2d_packed_in_place_s8(&q, &in_d, io, &w_d, packed, NULL, &out_d) == EN_ERR_ARG);
    CHECK(en_conv2d_packed_in_place_s8(&q, &in_d, io, &w3, packed, NULL, &in_d) == EN_ERR_ARG);
    CHECK(en_conv2d_packed_in_place_s8(&q, &big_in, io, &big_w, packed, NULL, &big_out) ==
          EN_ERR_ARG);
    CHECK(en_conv2d_packed_in_place_s8(&q, &in_d, NULL, &w_d, packed, NULL, &in_d) == EN_ERR_ARG);
    CHECK_BYTES(io, x, 16);
}

/* ---- depthwise --------------------------------------------------------------------------- */

static void test_dw_c1_single_pixel_hand(void) {
    /* C = 1, 1x1 input, 3x3 kernel, SAME: only the centre tap (w = 2) is in bounds.
     * x = 7, zp 0: acc = 14; multiplier 1.0 -> 14. */
    const int8_t x[1] = {7};
    const int8_t w[9] = {1, 1, 1, 1, 2, 1, 1, 1, 1};
    const int32_t mult = HALF_M, shift = 1;
    const en_requant q = {0, 0, &mult, &shift, 0, -128, 127};
    const en_conv_params p = {1, 1, 1, 1, 1, 1};
    const en_dims in_d = {1, 1, 1, 1}, w_d = {1, 3, 3, 1}, out_d = {1, 1, 1, 1};
    int8_t out[1];
    CHECK(en_dwconv2d_s8(&p, &q, &in_d, x, &w_d, w, NULL, &out_d, out, NULL) == EN_OK);
    CHECK(out[0] == 14);
}

static void check_dw_in_place(int stride, int k) {
    enum { H = 7, W = 5, C = 6 };
    int8_t x[H * W * C], buf[H * W * C], w[7 * 7 * C], out[H * W * C], scratch[H * W];
    fill(x, sizeof x, 10u + (uint32_t)stride);
    fill(w, sizeof w, 11u + (uint32_t)k);
    const int32_t bias[C] = {-50, 20, 0, 300, -1000, 7};
    const int32_t mult[C] = {1300000000, 1400000000, 1500000000, 1600000000, 1700000000, 1800000000};
    const int32_t shift[C] = {-7, -7, -8, -8, -9, -6};
    const en_requant q = {-3, 2, mult, shift, 1, -128, 127};
    const int pad = (k - 1) / 2;
    const en_conv_params p = {stride, stride, 1, 1, pad, pad};
    const int oh = (H + stride - 1) / stride, ow = (W + stride - 1) / stride;
    const en_dims in_d = {1, H, W, C}, w_d = {1, k, k, C}, out_d = {1, oh, ow, C};
    CHECK(en_dwconv2d_s8_scratch_bytes(&in_d, 1) == (size_t)H * W);
    CHECK(en_dwconv2d_s8_scratch_bytes(&in_d, 0) == 0);
    CHECK(en_dwconv2d_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, out, NULL) == EN_OK);
    memcpy(buf, x, sizeof x);
    CHECK(en_dwconv2d_s8(&p, &q, &in_d, buf, &w_d, w, bias, &out_d, buf, scratch) == EN_OK);
    CHECK_BYTES(buf, out, (size_t)oh * ow * C);
}

/* The arm build's row-ring path (stride 1, same shape, C % 4 == 0): left, zero and right
 * shifts (both SMMULR rounding forms), full and narrow activation ranges, 3x3 and 5x5. */
static void test_dw_ring_shifts_and_ranges(void) {
    enum { H = 6, W = 5, C = 8 };
    int8_t x[H * W * C], buf[H * W * C], w[5 * 5 * C], out[H * W * C], scratch[H * W];
    fill(x, sizeof x, 21u);
    fill(w, sizeof w, 22u);
    const int32_t bias[C] = {-50, 20, 0, 300, -1000, 7, 90, -4};
    const int32_t mult[C] = {1300000000, 1400000000, 1500000000, 1600000000,
                             1700000000, 1800000000, 1900000000, 2000000000};
    const int32_t shift[C] = {1, 0, -2, -8, 2, -1, 0, -9};
    for (int k = 3; k <= 5; k += 2) {
        for (int narrow = 0; narrow < 2; ++narrow) {
            const en_requant q = {-3, 2, mult, shift, 1, narrow ? -40 : -128, narrow ? 50 : 127};
            const en_conv_params p = {1, 1, 1, 1, k / 2, k / 2};
            const en_dims in_d = {1, H, W, C}, w_d = {1, k, k, C};
            CHECK(en_dwconv2d_s8(&p, &q, &in_d, x, &w_d, w, bias, &in_d, out, NULL) == EN_OK);
            memcpy(buf, x, sizeof x);
            CHECK(en_dwconv2d_s8(&p, &q, &in_d, buf, &w_d, w, bias, &in_d, buf, scratch) == EN_OK);
            CHECK_BYTES(buf, out, sizeof out);
        }
    }
}

static void test_dw_in_place_stride1(void) { check_dw_in_place(1, 3); }
static void test_dw_in_place_stride2(void) { check_dw_in_place(2, 5); }

/* ---- fully connected -------------------------------------------------------------------- */

static void test_fc_per_tensor_hand(void) {
    /* x = [1, 2, 3], zp 1 -> [0, 1, 2]; w rows [1, 1, 1] and [-2, 0, 5]; bias [0, 1]:
     * o0 = 0 + 1 + 2 = 3 -> * 0.5 = 1.5 -> 2; o1 = 0 + 0 + 10 + 1 = 11 -> 5.5 -> 6; zp -1. */
    const int8_t x[3] = {1, 2, 3};
    const int8_t w[6] = {1, 1, 1, -2, 0, 5};
    const int32_t bias[2] = {0, 1};
    const int32_t mult = HALF_M, shift = 0;
    const en_requant q = {1, -1, &mult, &shift, 0, -128, 127};
    int8_t out[2];
    CHECK(en_fc_s8(&q, 1, 3, x, 2, w, bias, out) == EN_OK);
    CHECK(out[0] == 1 && out[1] == 5);
}

/* ---- add -------------------------------------------------------------------------------- */

static void test_add_hand(void) {
    const int8_t a[3] = {3, 100, -100};
    const int8_t b[3] = {4, 100, -100};
    int8_t out[3];
    CHECK(en_add_s8(&ADD_PLAIN, 3, a, b, out) == EN_OK);
    const int8_t want[3] = {7, 127, -128}; /* 3 + 4; 200 and -200 saturate */
    CHECK_BYTES(out, want, 3);
    /* In place over either input gives the same bytes. */
    int8_t c[3] = {3, 100, -100};
    CHECK(en_add_s8(&ADD_PLAIN, 3, c, b, c) == EN_OK);
    CHECK_BYTES(c, want, 3);
}

/* ---- pooling, mean, softmax, pad ---------------------------------------------------------- */

static void test_avgpool_rounding_hand(void) {
    /* 2x2 windows over four 2x2 blocks; sums and counts 4, rounded half away from zero:
     *   5/4 = 1.25 -> 1   -5/4 -> -1   2/4 = 0.5 -> 1   -2/4 = -0.5 -> -1 */
    const int8_t x[16] = {1, 2, -1, -2,  /* row 0 */
                          2, 0, -2, 0,   /* row 1 */
                          1, 1, -1, -1,  /* row 2 */
                          0, 0, 0, 0};   /* row 3 */
    const en_pool_params p = {2, 2, 2, 2, 0, 0, -128, 127};
    const en_dims in_d = {1, 4, 4, 1}, out_d = {1, 2, 2, 1};
    int8_t out[4];
    CHECK(en_avgpool2d_s8(&p, &in_d, x, &out_d, out) == EN_OK);
    const int8_t want[4] = {1, -1, 1, -1};
    CHECK_BYTES(out, want, 4);
}

static void test_avgpool_padding_not_counted(void) {
    /* 3x3 window, pad 1, on a 1x2 input [4, 9]: both outputs average the two real values only:
     * 13 / 2 = 6.5 -> 7 (padding counted would give 13 / 9 -> 1). */
    const int8_t x[2] = {4, 9};
    const en_pool_params p = {3, 3, 1, 1, 1, 1, -128, 127};
    const en_dims in_d = {1, 1, 2, 1}, out_d = {1, 1, 2, 1};
    int8_t out[2];
    CHECK(en_avgpool2d_s8(&p, &in_d, x, &out_d, out) == EN_OK);
    CHECK(out[0] == 7 && out[1] == 7);
}

static void test_mean_hand(void) {
    /* [1, 2, 3, 4] over a 2x2 plane, same quantisation (multiplier 1.0 = (2^30, 1)):
     * count 4 -> fold 2: mult' = (2^30 << 2) / 4 = 2^30, shift' = -1; MBQM(10) = 2.5 -> 3. */
    const int8_t x[4] = {1, 2, 3, 4};
    const en_mean_quant q = {0, 0, HALF_M, 1};
    const en_dims in_d = {1, 2, 2, 1};
    int8_t out[1];
    CHECK(en_mean_s8(&q, &in_d, x, out) == EN_OK);
    CHECK(out[0] == 3);
}

static void test_softmax_hand(void) {
    /* Two equal logits -> 0.5 each -> 0.5 * 256 - 128 = 0. One logit -> 1.0 -> 256 - 128 = 128,
     * which saturates to 127. A logit below diff_min gets exp 0 -> -128.
     * beta * scale = 1 * 0.1: mult 1717986944, left shift 23, diff_min -248 (requant.py). */
    const en_softmax_params p = {1717986944, 23, -248};
    const int8_t two[2] = {5, 5};
    int8_t out[2];
    CHECK(en_softmax_s8(&p, 1, 2, two, out) == EN_OK);
    CHECK(out[0] == 0 && out[1] == 0);
    const int8_t one[1] = {-40};
    CHECK(en_softmax_s8(&p, 1, 1, one, out) == EN_OK);
    CHECK(out[0] == 127);
    const en_softmax_params narrow = {1717986944, 23, -10};
    const int8_t far[2] = {100, 0}; /* d = -100 < -10 */
    CHECK(en_softmax_s8(&narrow, 1, 2, far, out) == EN_OK);
    CHECK(out[0] == 127 && out[1] == -128);
}

static void test_pad_hand(void) {
    /* [5, 6] (1x1x1x2) padded with one row above and one channel after, value -3:
     * [[-3, -3, -3], [5, 6, -3]]. */
    const int8_t x[2] = {5, 6};
    const en_pad_params p = {{0, 1, 0, 0}, {0, 0, 0, 1}, -3};
    const en_dims in_d = {1, 1, 1, 2}, out_d = {1, 2, 1, 3};
    int8_t out[6];
    CHECK(en_pad_s8(&p, &in_d, x, &out_d, out) == EN_OK);
    const int8_t want[6] = {-3, -3, -3, 5, 6, -3};
    CHECK_BYTES(out, want, 6);
}

/* ---- failure cases: EN_ERR_ARG and the output untouched ------------------------------------ */

static void test_failures(void) {
    int8_t x[16] = {0}, w[16] = {0}, out[16], skip[16] = {0}, scratch[16];
    const int32_t mult[4] = {HALF_M, HALF_M, HALF_M, HALF_M}, shift[4] = {0, 0, 0, 0};
    const en_requant q = {0, 0, mult, shift, 1, -128, 127};
    const en_dims in_d = {1, 2, 2, 2}, w_d = {2, 1, 1, 2}, out_d = {1, 2, 2, 2};
    memset(out, 0x5a, sizeof out);

    const en_dims w_bad = {2, 1, 1, 3}; /* C_in 3 != input C 2 */
    CHECK(en_conv2d_s8(&P1, &q, &in_d, x, &w_bad, w, NULL, &out_d, out) == EN_ERR_ARG);
    const en_conv_params no_dil = {1, 1, 0, 0, 0, 0}; /* dilation 0 */
    CHECK(en_conv2d_s8(&no_dil, &q, &in_d, x, &w_d, w, NULL, &out_d, out) == EN_ERR_ARG);
    const en_dims out_big = {1, 3, 2, 2}; /* last window would start past the input */
    CHECK(en_conv2d_s8(&P1, &q, &in_d, x, &w_d, w, NULL, &out_big, out) == EN_ERR_ARG);
    const en_requant q_act = {0, 0, mult, shift, 1, 10, -10}; /* act_min > act_max */
    CHECK(en_conv2d_s8(&P1, &q_act, &in_d, x, &w_d, w, NULL, &out_d, out) == EN_ERR_ARG);
    const int32_t bad_shift[2] = {0, 31};
    const en_requant q_shift = {0, 0, mult, bad_shift, 1, -128, 127};
    CHECK(en_conv2d_s8(&P1, &q_shift, &in_d, x, &w_d, w, NULL, &out_d, out) == EN_ERR_ARG);
    CHECK(en_conv2d_s8(&P1, &q, &in_d, x, &w_d, w, NULL, &out_d, x + 1) == EN_ERR_ARG);

    /* Fused add (any geometry) needs a skip disjoint from the conv input, and the conv's
     * output zero point as in1_zp. */
    const en_dims w3 = {2, 3, 3, 2};
    const en_conv_params same = {1, 1, 1, 1, 1, 1};
    CHECK(en_conv2d_add_s8(&same, &q, &ADD_PLAIN, &in_d, x, &w3, w, NULL, x, &out_d, skip) ==
          EN_ERR_ARG);
    CHECK(en_conv2d_add_s8(&same, &q, &ADD_PLAIN, &in_d, x, &w3, w, NULL, skip, &out_d, x) ==
          EN_ERR_ARG);
    const en_add_quant a_zp = {5, 0, 0, HALF_M, 0, HALF_M, 0, HALF_M, -18, 20, -128, 127, NULL};
    CHECK(en_conv2d_add_s8(&P1, &q, &a_zp, &in_d, x, &w_d, w, NULL, skip, &out_d, skip) ==
          EN_ERR_ARG);
    CHECK(en_conv2d_add_s8(&P1, &q, &ADD_PLAIN, &in_d, x, &w_d, w, NULL, skip, &out_d, skip + 1) ==
          EN_ERR_ARG);

    /* Depthwise: in place needs scratch; out partially overlapping in is refused. */
    const en_dims dw_w = {1, 1, 1, 2};
    CHECK(en_dwconv2d_s8(&P1, &q, &in_d, x, &dw_w, w, NULL, &out_d, x, NULL) == EN_ERR_ARG);
    CHECK(en_dwconv2d_s8(&P1, &q, &in_d, x, &dw_w, w, NULL, &out_d, x + 2, scratch) == EN_ERR_ARG);
    const en_dims dw_w_bad = {2, 1, 1, 2}; /* multiplier != 1 layout */
    CHECK(en_dwconv2d_s8(&P1, &q, &in_d, x, &dw_w_bad, w, NULL, &out_d, out, NULL) == EN_ERR_ARG);

    CHECK(en_fc_s8(&q, 1, 0, x, 2, w, NULL, out) == EN_ERR_ARG);
    CHECK(en_fc_s8(NULL, 1, 4, x, 2, w, NULL, out) == EN_ERR_ARG);
    CHECK(en_add_s8(&ADD_PLAIN, 4, x, skip, x + 1) == EN_ERR_ARG);
    const en_add_quant a_ls = {0, 0, 0, HALF_M, 0, HALF_M, 0, HALF_M, -18, 23, -128, 127, NULL};
    CHECK(en_add_s8(&a_ls, 4, x, skip, out) == EN_ERR_ARG);

    const en_pool_params pool = {2, 2, 1, 1, 0, 0, -128, 127};
    const en_dims out_c3 = {1, 2, 2, 3}; /* pooling cannot change C */
    CHECK(en_avgpool2d_s8(&pool, &in_d, x, &out_c3, out) == EN_ERR_ARG);
    const en_pool_params pool_pad = {2, 2, 1, 1, 2, 0, -128, 127}; /* pad >= filter */
    CHECK(en_avgpool2d_s8(&pool_pad, &in_d, x, &out_d, out) == EN_ERR_ARG);
    const en_mean_quant mq = {0, 200, HALF_M, 1}; /* zero point out of int8 */
    CHECK(en_mean_s8(&mq, &in_d, x, out) == EN_ERR_ARG);
    const en_softmax_params sp = {1717986944, 23, -248};
    CHECK(en_softmax_s8(&sp, 1, 0, x, out) == EN_ERR_ARG);
    CHECK(en_softmax_s8(&sp, 1, 512, x, out) == EN_ERR_ARG);
    const en_pad_params pp = {{0, 1, 0, 0}, {0, 0, 0, 0}, 0};
    CHECK(en_pad_s8(&pp, &in_d, x, &out_d, out) == EN_ERR_ARG); /* out H should be 3 */

    for (size_t i = 0; i < sizeof out; ++i) {
        CHECK(out[i] == 0x5a);
    }
}

int main(void) {
    run("fixedpoint", test_fixedpoint);
    run("requant_fast_matches_mbqm", test_requant_fast_matches_mbqm);
    run("conv_1x1_hand", test_conv_1x1_hand);
    run("conv_3x3_padding_hand", test_conv_3x3_padding_hand);
    run("conv_all_padding_window", test_conv_all_padding_window);
    run("conv_saturating_clamp", test_conv_saturating_clamp);
    run("conv_general_matches_pointwise", test_conv_general_matches_pointwise);
    run("conv_add_hand", test_conv_add_hand);
    run("conv_add_in_place_matches_copy", test_conv_add_in_place_matches_copy);
    run("conv_add_3x3_matches_conv_then_add", test_conv_add_3x3_matches_conv_then_add);
    run("conv_packed_matches_unpacked", test_conv_packed_matches_unpacked);
    run("conv_packed_in_place_matches_copy", test_conv_packed_in_place_matches_copy);
    run("dw_c1_single_pixel_hand", test_dw_c1_single_pixel_hand);
    run("dw_in_place_stride1", test_dw_in_place_stride1);
    run("dw_ring_shifts_and_ranges", test_dw_ring_shifts_and_ranges);
    run("dw_in_place_stride2", test_dw_in_place_stride2);
    run("fc_per_tensor_hand", test_fc_per_tensor_hand);
    run("add_hand", test_add_hand);
    run("avgpool_rounding_hand", test_avgpool_rounding_hand);
    run("avgpool_padding_not_counted", test_avgpool_padding_not_counted);
    run("mean_hand", test_mean_hand);
    run("softmax_hand", test_softmax_hand);
    run("pad_hand", test_pad_hand);
    run("failures", test_failures);
    printf("EN_TEST_SUMMARY failures=%d\n", g_failures);
    return g_failures;
}
