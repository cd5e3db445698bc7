/* edgenas int8 kernels: the public C API used by generated model code.
 *
 * Numerics follow TFLite's integer pipeline (and so TensorFlow Lite Micro's reference kernels)
 * bit for bit: per-channel symmetric int8 weights, int32 bias, asymmetric int8 activations, and
 * requantisation  out = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc << max(shift,0),
 * mult), max(-shift,0)) + output_zp, then clamp to [act_min, act_max].
 *
 * Conventions (the same names are used in edgenas/deploy, so one grep finds both sides):
 *  - Activations are NHWC int8. Dims are en_dims {n, h, w, c}; FC tensors are [N, C].
 *  - `*_zp` is always the zero point as stored in the model (NOT negated), range [-128, 127].
 *  - `mult` is a Q31 multiplier in [2^30, 2^31 - 1] (or 0, meaning "output is the zero point");
 *    `shift` is a power-of-two exponent, > 0 = left shift, < 0 = right shift, range [-31, 30].
 *    edgenas.deploy.requant.quantize_multiplier() produces exactly these from a real scale.
 *  - act_min/act_max are the fused activation bounds in the int8 domain,
 *    -128 <= act_min <= act_max <= 127 (no activation: -128, 127).
 *  - Weights and bias are const (they live in flash). No kernel allocates, and none keeps state.
 *  - Every kernel validates its arguments first and returns EN_ERR_ARG without writing the
 *    output when a shape, range or aliasing check fails.
 *  - Build variants: src/ref/ (portable C99, the definition of correct) and src/arm/ (ARMv7E-M
 *    DSP, selected at build time, same symbols, byte-identical results).
 */
#ifndef EDGENAS_KERNELS_H
#define EDGENAS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status returned by every kernel and by generated en_model_invoke(). */
typedef enum {
    EN_OK = 0,
    EN_ERR_ARG = -1,   /**< a shape, range or aliasing check failed; output untouched */
    EN_ERR_ARENA = -2  /**< an arena or scratch buffer is too small (raised by model code) */
} en_status;

/** Tensor dims. Activations: [n, h, w, c] (NHWC). Conv filters (OHWI): {C_out, KH, KW, C_in}.
 *  Depthwise filters ([1, KH, KW, C]): {1, KH, KW, C}. All fields >= 1. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} en_dims;

/** Spatial geometry of a conv / depthwise conv. SAME/VALID is resolved by the caller into
 *  pad_top/pad_left (>= 0; bottom/right padding is implied by the output dims).
 *  Output position (oh, ow) reads input rows oh*stride_h - pad_top + kh*dilation_h (and the
 *  same for columns); taps outside the input contribute nothing (== zero-point padding). */
typedef struct {
    int32_t stride_h;   /**< >= 1 */
    int32_t stride_w;   /**< >= 1 */
    int32_t dilation_h; /**< >= 1 (0 is rejected: set 1 for an undilated conv) */
    int32_t dilation_w; /**< >= 1 */
    int32_t pad_top;    /**< >= 0 */
    int32_t pad_left;   /**< >= 0 */
} en_conv_params;

/** Requantisation of a conv / depthwise / fully-connected output.
 *  out = clamp(MBQM(acc, mult[c], shift[c]) + output_zp, act_min, act_max), where
 *  acc = bias[c] + sum w * (x - input_zp). */
typedef struct {
    int32_t input_zp;      /**< input zero point, [-128, 127] */
    int32_t output_zp;     /**< output zero point, [-128, 127] */
    const int32_t *mult;   /**< [C_out] if per_channel else [1]; see the file comment */
    const int32_t *shift;  /**< [C_out] if per_channel else [1]; > 0 = left */
    int32_t per_channel;   /**< nonzero: one mult/shift per output channel */
    int32_t act_min;       /**< int8 domain, >= -128 */
    int32_t act_max;       /**< int8 domain, <= 127, >= act_min */
} en_requant;

/** TFLite int8 ADD quantisation (out = in1 + in2 in real terms), exactly TFLite's scheme:
 *    a_k = MBQM((x_k - in_k_zp) << left_shift, in_k_mult, in_k_shift)    (k = 1, 2)
 *    out = clamp(MBQM(a_1 + a_2, out_mult, out_shift) + out_zp, act_min, act_max)
 *  with twice_max = 2 * max(s1, s2), in_k real multiplier = s_k / twice_max (< 1, shift <= 0),
 *  out real multiplier = twice_max / (2^left_shift * s_out). See requant.add_quant(). */
typedef struct {
    int32_t in1_zp;     /**< [-128, 127] */
    int32_t in2_zp;     /**< [-128, 127] */
    int32_t out_zp;     /**< [-128, 127] */
    int32_t in1_mult;   /**< Q31 */
    int32_t in1_shift;  /**< <= 0 */
    int32_t in2_mult;   /**< Q31 */
    int32_t in2_shift;  /**< <= 0 */
    int32_t out_mult;   /**< Q31 */
    int32_t out_shift;  /**< [-31, 30] */
    int32_t left_shift; /**< 20 for int8 (TFLite); range [0, 22] so (x - zp) << left_shift fits int32 */
    int32_t act_min;    /**< int8 domain */
    int32_t act_max;    /**< int8 domain */
    /** NULL, or 512 int32 (4-byte aligned, e.g. flash): each input's scaled term a_k(x) for
     *  every int8 x, lut[x + 128] = a_1(x) and lut[256 + x + 128] = a_2(x), exactly the values
     *  above (edgenas.deploy.codegen.add_lut() computes them). Kernels that have a use for it
     *  (the arm build's fused conv + ADD) look the two terms up instead of computing them;
     *  others ignore it. It must match the fields above: the kernel does not check. */
    const int32_t *lut;
} en_add_quant;

/** 2-D conv, int8 in/out, per-channel (or per-tensor) requantisation.
 *  A pointwise fast path is used for 1x1, stride 1, no padding.
 *  Accumulator bound: |w| <= 127 (symmetric weights) and |x - input_zp| <= 255, so each product
 *  is < 2^15 and KH*KW*C_in <= 65536 taps plus a bias of |b| < 2^30 cannot overflow int32.
 * @param[in]  p      geometry; dilation >= 1
 * @param[in]  q      requantisation; mult/shift have C_out entries when per_channel
 * @param[in]  in_dims  [N, H, W, C_in]          @param[in]  in    int8 [N, H, W, C_in]
 * @param[in]  w_dims   {C_out, KH, KW, C_in}    @param[in]  w     int8 OHWI [C_out, KH, KW, C_in]
 * @param[in]  bias   int32 [C_out], or NULL for no bias
 * @param[in]  out_dims [N, OH, OW, C_out]      @param[out] out   int8 [N, OH, OW, C_out]; must not
 *                                                                overlap `in`
 * @return EN_OK; EN_ERR_ARG on inconsistent dims (N, C_in or C_out mismatch), a bad range or
 *         overlapping buffers. An output whose receptive field lies wholly in padding is legal:
 *         it is requant(bias). */
en_status en_conv2d_s8(const en_conv_params *p, const en_requant *q,
                       const en_dims *in_dims, const int8_t *in,
                       const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                       const en_dims *out_dims, int8_t *out);

/** Conv (any geometry) with a fused residual ADD, written in place over the skip tensor.
 *  Each output value is first computed exactly like en_conv2d_s8 (requantised to q->output_zp,
 *  clamped to q->act_min/act_max: the int8 value TFLite's CONV_2D would store), then combined
 *  with skip[i] by TFLite ADD semantics (a->in1 = the conv output, a->in2 = the skip tensor):
 *    out[i] = ADD(conv[i], skip[i]).
 *  Output element i reads skip element i only, just before writing out[i], and the conv reads
 *  only `in`; so writing out over skip is safe element by element for every kernel size, stride
 *  and padding. Precondition (checked): `out` equals `skip` (in place) or is disjoint from it;
 *  `in` is disjoint from both; a->in1_zp == q->output_zp.
 * @param[in]     a     ADD quantisation (conv output = in1, skip = in2)
 * @param[in]     skip  int8 [N, OH, OW, C_out] (same dims as out)
 * @param[in,out] out   int8 [N, OH, OW, C_out]; == skip for in-place
 * Other arguments as en_conv2d_s8.
 * @return EN_OK, or EN_ERR_ARG if the precondition or any en_conv2d_s8 check fails */
en_status en_conv2d_add_s8(const en_conv_params *p, const en_requant *q, const en_add_quant *a,
                           const en_dims *in_dims, const int8_t *in,
                           const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                           const int8_t *skip, const en_dims *out_dims, int8_t *out);

/** Packed conv filters: the int8 OHWI weights with each output channel's window padded.
 *  With L = KH * KW * C_in (one channel's window, in OHWI order kh, kw, ci) and L4 = L rounded
 *  up to a multiple of 4, the array holds C_out rows of L4 int8 values: row co at co * L4, its
 *  first L values w[co, kh, kw, ci] at k = (kh * KW + kw) * C_in + ci, then L4 - L zeros. When
 *  L % 4 == 0 that is exactly the OHWI tensor, so filters cost their int8 bytes and no more;
 *  rows start word-aligned (L4 % 4 == 0), so the DSP inner loop reads 4 weights per load and
 *  sign-extends them with SXTB16. edgenas.deploy.codegen.pack_conv_weights() produces it;
 *  en_conv2d_packed_count() gives the number of int8 values. Results are identical to
 *  en_conv2d_s8 on the unpacked weights. */
size_t en_conv2d_packed_count(const en_dims *w_dims);

/** en_conv2d_s8 with packed filters (see en_conv2d_packed_count). Same contract otherwise.
 *  The arm build uses up to 6 KB of stack (an int16 window buffer for four output pixels,
 *  and accumulators of 32 channels).
 * @param[in] w  int8, en_conv2d_packed_count(w_dims) values, 4-byte aligned */
en_status en_conv2d_packed_s8(const en_conv_params *p, const en_requant *q,
                              const en_dims *in_dims, const int8_t *in,
                              const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                              const en_dims *out_dims, int8_t *out);

/** Largest C_in of en_conv2d_packed_in_place_s8 (one pixel's input is held on the stack). */
#define EN_CONV_IN_PLACE_MAX_CIN 576

/** Pointwise conv (1x1 filter, stride 1, no padding) with packed filters, written in place
 *  over its input: output pixel i occupies bytes [i * C_out, (i + 1) * C_out) of `io`, inside
 *  the bytes [0, (i + 1) * C_in) of input pixels 0..i, and the kernel reads each pixel's input
 *  before writing any output over it, so no scratch is needed (one pixel group's input is
 *  copied to the stack). Results are those of en_conv2d_packed_s8 out of place.
 * @param[in]     q         requantisation; mult/shift have C_out entries when per_channel
 * @param[in]     in_dims   [N, H, W, C_in], 1 <= C_in <= EN_CONV_IN_PLACE_MAX_CIN
 * @param[in,out] io        int8 [N, H, W, C_in] in; int8 [N, H, W, C_out] out, from io[0]
 * @param[in]     w_dims    {C_out, 1, 1, C_in}, C_out <= C_in
 * @param[in]     w, bias   as en_conv2d_packed_s8
 * @param[in]     out_dims  [N, H, W, C_out]
 * @return EN_OK, or EN_ERR_ARG (bad dims or ranges, C_out > C_in, C_in too large) */
en_status en_conv2d_packed_in_place_s8(const en_requant *q, const en_dims *in_dims, int8_t *io,
                                       const en_dims *w_dims, const int8_t *w,
                                       const int32_t *bias, const en_dims *out_dims);

/** en_conv2d_add_s8 with packed filters. Same contract otherwise. */
en_status en_conv2d_add_packed_s8(const en_conv_params *p, const en_requant *q,
                                  const en_add_quant *a, const en_dims *in_dims,
                                  const int8_t *in, const en_dims *w_dims, const int8_t *w,
                                  const int32_t *bias, const int8_t *skip,
                                  const en_dims *out_dims, int8_t *out);

/** Scratch bytes en_dwconv2d_s8 needs: in_dims->n * h * w (one input channel plane per batch)
 *  when in_place, else 0. Returns 0 for invalid dims. */
size_t en_dwconv2d_s8_scratch_bytes(const en_dims *in_dims, int in_place);

/** Depthwise 2-D conv (channel multiplier 1), any kernel size, stride, dilation.
 *  In place when out == in: channel c's input plane is first copied to scratch, then channel c's
 *  outputs are written. Every write lands on an offset == c (mod C), i.e. on channel c's own,
 *  already-saved input, so any stride/padding is safe as long as out starts at in. (The arm
 *  build instead streams groups of up to four channels through a ring of padded rows on its
 *  stack, about 5.3 KB in all, for every undilated call whose rows fit it, in place or not,
 *  leaving the scratch unused; same results.)
 *  Accumulator bound: KH*KW taps of < 2^15 each plus bias; int32-safe for kernels up to
 *  255x255 with |bias| < 2^29.
 * @param[in]  p      geometry
 * @param[in]  q      requantisation; mult/shift have C entries when per_channel
 * @param[in]  in_dims  [N, H, W, C]       @param[in]  in   int8 [N, H, W, C]
 * @param[in]  w_dims   {1, KH, KW, C}     @param[in]  w    int8 [1, KH, KW, C]
 * @param[in]  bias   int32 [C] or NULL
 * @param[in]  out_dims [N, OH, OW, C]     @param[out] out  int8 [N, OH, OW, C]; == in for in place,
 *                                                          otherwise disjoint from in
 * @param[in]  scratch  en_dwconv2d_s8_scratch_bytes(in_dims, out == in) bytes; NULL if that is 0
 * @return EN_OK, or EN_ERR_ARG (bad dims/ranges, partial overlap, missing scratch) */
en_status en_dwconv2d_s8(const en_conv_params *p, const en_requant *q,
                         const en_dims *in_dims, const int8_t *in,
                         const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                         const en_dims *out_dims, int8_t *out, void *scratch);

/** en_dwconv2d_s8 for the layers the compiler found strided with a large window (undilated,
 *  stride >= 2 on both axes, 16 to 64 taps: 5x5 to 8x8 at stride 2). Same contract and results.
 *  The arm build runs them with its direct strategy (int8 taps straight from the input) when
 *  its in-place check allows, else as en_dwconv2d_s8; other builds are en_dwconv2d_s8. A
 *  separate entry point, chosen at compile time, so firmware without such layers does not
 *  link the strategy's code (about 4.5 KB on the M7). */
en_status en_dwconv2d_strided_s8(const en_conv_params *p, const en_requant *q,
                                 const en_dims *in_dims, const int8_t *in,
                                 const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                                 const en_dims *out_dims, int8_t *out, void *scratch);

/** en_dwconv2d_s8 for the layers the compiler found to have a K x 1 kernel (undilated, 2 <= K <=
 *  4: audio models' short time kernels). Same contract and results. The arm build runs them with its
 *  Kx1 strategy (int8 rows read straight down image columns, four channels per load) when its
 *  plan allows, else as en_dwconv2d_s8; other builds are en_dwconv2d_s8. A separate entry point,
 *  chosen at compile time (edgenas.deploy.codegen.kx1_window), so firmware without such layers
 *  does not link the strategy's code. */
en_status en_dwconv2d_kx1_s8(const en_conv_params *p, const en_requant *q,
                             const en_dims *in_dims, const int8_t *in,
                             const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                             const en_dims *out_dims, int8_t *out, void *scratch);

/** en_dwconv2d_s8 for the layers the compiler found to have a K x 1 kernel of 5 to 32 taps
 *  (undilated: audio models' long time kernels). Same contract and results. The arm build runs
 *  them with its row-pair strategy (arm/dwconv2d_kx1_long_s8.c: each image column of a group of
 *  four channels expanded once to int16 row pairs on the stack, up to 4 KB, two taps per SMLAD)
 *  at stride_h 1 or 2 with channels a multiple of 4, else as en_dwconv2d_s8; other builds are
 *  en_dwconv2d_s8. A separate entry point, chosen at compile time
 *  (edgenas.deploy.codegen.kx1_long_window), so firmware without such layers does not link the
 *  strategy's code. */
en_status en_dwconv2d_kx1_long_s8(const en_conv_params *p, const en_requant *q,
                                  const en_dims *in_dims, const int8_t *in,
                                  const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                                  const en_dims *out_dims, int8_t *out, void *scratch);

/** en_dwconv2d_s8 for the layers the compiler found to be 3x3 at stride 1 or 2 on both axes
 *  (undilated, SAME or VALID) with a channel count that is a multiple of 4, and rows of 8 to 128
 *  pixels, or narrower rows with columns of 8 to 128 (edgenas.deploy.codegen.dw3x3_window;
 *  in place, rows need an output no larger than the input, columns one of the same size). Same
 *  results; other calls return EN_ERR_ARG in every build (internal/dw3x3_plan.h), so that
 *  firmware calling only this entry point does not link the general depthwise engine. The arm
 *  build runs them with its 3x3 strategy (arm/dwconv3x3_s8.c: three expanded rows, or columns
 *  of narrow maps, per channel of a group of four on the stack, about 4.6 KB in all, two
 *  outputs per step; scratch unused); other builds as en_dwconv2d_s8. A separate entry point,
 *  chosen at compile time, so firmware without such layers does not link the strategy's code. */
en_status en_dwconv2d_3x3_s8(const en_conv_params *p, const en_requant *q,
                             const en_dims *in_dims, const int8_t *in,
                             const en_dims *w_dims, const int8_t *w, const int32_t *bias,
                             const en_dims *out_dims, int8_t *out, void *scratch);

/** Fully connected: out[b, o] = requant(bias[o] + sum_i w[o, i] * (in[b, i] - input_zp)).
 *  Accumulator bound as en_conv2d_s8 with in_features taps.
 * @param[in]  q            requantisation; per-tensor (mult[0]) or per-channel (mult[out_features])
 * @param[in]  batches      N >= 1
 * @param[in]  in_features  C_in >= 1      @param[in] in   int8 [N, C_in]
 * @param[in]  out_features C_out >= 1     @param[in] w    int8 [C_out, C_in]
 * @param[in]  bias         int32 [C_out] or NULL
 * @param[out] out          int8 [N, C_out]; disjoint from in
 * @return EN_OK or EN_ERR_ARG */
en_status en_fc_s8(const en_requant *q, int32_t batches, int32_t in_features, const int8_t *in,
                   int32_t out_features, const int8_t *w, const int32_t *bias, int8_t *out);

/** Packed fully-connected weights: the int8 [C_out, C_in] matrix with rows in groups that
 *  share each input word. With L4 = C_in rounded up to a multiple of 4 (each row padded with
 *  zeros), the rows form groups of 4 (rows 0-3, 4-7, ...); the C_out % 4 rows left over form a
 *  group of 2 and/or a group of 1, in that order (3 = 2 + 1). A group of g rows starting at
 *  row r0 occupies g * L4 bytes from offset r0 * L4, in 4-byte chunks interleaved by row:
 *  w[r0 + j, 4k .. 4k + 3] lies at r0 * L4 + (k * g + j) * 4. So one pass reads a group's
 *  weights in address order, 4 * g bytes per 4 inputs (one LDM on the arm build, a
 *  de-interleaving or gather load on Helium). en_fc_packed_count() gives the number of int8
 *  values; edgenas.deploy.codegen.pack_fc_weights() produces the layout. */
size_t en_fc_packed_count(int32_t in_features, int32_t out_features);

/** Fully connected with packed weights (see en_fc_packed_count) and the input zero point folded
 *  into the bias at compile time (edgenas.deploy.codegen.fold_fc_bias):
 *    bias[o] = b[o] - input_zp * sum_i w[o, i]   (wrapped to int32),
 *  so out[b, o] = requant(bias[o] + sum_i w[o, i] * in[b, i]); q->input_zp is range-checked but
 *  not otherwise used. Results equal en_fc_s8 on the unpacked weights and unfolded bias b: both
 *  are the same integer modulo 2^32, and en_fc_s8's accumulator bound keeps it inside int32.
 *  The arm build sign-extends the input once per call into an int16 buffer on its stack (2 KB;
 *  longer inputs are expanded in 1024-value slices, per group of rows).
 * @param[in] w     int8, en_fc_packed_count(in_features, out_features) values, 4-byte aligned
 * @param[in] bias  int32 [C_out], folded; NULL only when there is no bias and input_zp == 0
 * Other arguments as en_fc_s8.
 * @return EN_OK or EN_ERR_ARG (also for bias == NULL with input_zp != 0) */
en_status en_fc_packed_s8(const en_requant *q, int32_t batches, int32_t in_features,
                          const int8_t *in, int32_t out_features, const int8_t *w,
                          const int32_t *bias, int8_t *out);

/** Wide fully-connected weights: the groups, row padding and chunk order of the packed layout
 *  (en_fc_packed_count), with int16 values and each chunk's four weights of a row in the order
 *  w[4k], w[4k + 2], w[4k + 1], w[4k + 3]: the {x0, x2} and {x1, x3} lanes of the arm build's
 *  expanded input, so SMLAD takes the weight words as they are (no sign extension). Twice the
 *  flash of the packed layout, so codegen uses it only when asked (fc_wide_max_weights,
 *  `edgenas compile --fc-wide N`). en_fc_wide_count() gives the number of int16 values;
 *  edgenas.deploy.codegen.pack_fc_wide() produces the layout. */
size_t en_fc_wide_count(int32_t in_features, int32_t out_features);

/** en_fc_packed_s8 on wide weights (see en_fc_wide_count): same arguments, folded bias and
 *  results.
 * @param[in] w     int16, en_fc_wide_count(in_features, out_features) values, 4-byte aligned
 * @return EN_OK or EN_ERR_ARG */
en_status en_fc_wide_s8(const en_requant *q, int32_t batches, int32_t in_features,
                        const int8_t *in, int32_t out_features, const int16_t *w,
                        const int32_t *bias, int8_t *out);

/** Element-wise ADD of two same-shape int8 tensors (no broadcasting), TFLite semantics.
 * @param[in]  a      quantisation, see en_add_quant
 * @param[in]  size   element count >= 1
 * @param[in]  in1, in2  int8 [size]
 * @param[out] out    int8 [size]; may equal in1 and/or in2 (in place), must not partially overlap
 * @return EN_OK or EN_ERR_ARG */
en_status en_add_s8(const en_add_quant *a, int32_t size, const int8_t *in1, const int8_t *in2,
                    int8_t *out);

/** Average pool geometry and activation. Input and output share one quantisation (TFLite
 *  requires it), so there is no requantisation: only TFLite's rounding division. */
typedef struct {
    int32_t filter_h; /**< >= 1 */
    int32_t filter_w; /**< >= 1 */
    int32_t stride_h; /**< >= 1 */
    int32_t stride_w; /**< >= 1 */
    int32_t pad_top;  /**< >= 0 */
    int32_t pad_left; /**< >= 0 */
    int32_t act_min;  /**< int8 domain */
    int32_t act_max;  /**< int8 domain */
} en_pool_params;

/** 2-D average pool: each output is the rounded (half away from zero) mean of the in-bounds taps
 *  only (padding is not counted), then clamped.
 * @param[in]  in_dims  [N, H, W, C]      @param[in]  in   int8 [N, H, W, C]
 * @param[in]  out_dims [N, OH, OW, C]    @param[out] out  int8 [N, OH, OW, C]; disjoint from in
 * @return EN_OK; EN_ERR_ARG on bad dims or an output window with no in-bounds tap */
en_status en_avgpool2d_s8(const en_pool_params *p, const en_dims *in_dims, const int8_t *in,
                          const en_dims *out_dims, int8_t *out);

/** Quantisation of MEAN over H and W (TFLite MEAN, axes [1, 2]).
 *  mult/shift encode input_scale / output_scale (requant.mean_quant()); the kernel folds in
 *  1 / (H*W) itself, exactly as TFLite Micro does. */
typedef struct {
    int32_t input_zp;  /**< [-128, 127] */
    int32_t output_zp; /**< [-128, 127] */
    int32_t mult;      /**< Q31 */
    int32_t shift;     /**< > 0 = left */
} en_mean_quant;

/** Global spatial mean of an NHWC tensor, as TensorFlow Lite Micro's int8 MEAN over axes (1, 2)
 *  (reference_ops::QuantizedMeanOrSum), with count = H*W:
 *    f = min(floor(log2(count)), 32, 31 + shift);  mult' = (mult << f) / count;  shift' = shift - f
 *    out = clamp(MBQM(sum_{h,w}(x) - input_zp * count, mult', shift') + output_zp, -128, 127).
 *  Sum bound: count <= 2^23 (checked) values of magnitude <= 255.
 * @param[in]  in_dims [N, H, W, C]     @param[in]  in   int8 [N, H, W, C]
 * @param[out] out     int8 [N, 1, 1, C] (keep_dims or not: same bytes); disjoint from in
 * @return EN_OK or EN_ERR_ARG */
en_status en_mean_s8(const en_mean_quant *q, const en_dims *in_dims, const int8_t *in, int8_t *out);

/** Softmax parameters, from requant.softmax_params(beta, input_scale) (TFLite's
 *  PreprocessSoftmaxScaling with 5 integer bits). Output scale is fixed to 1/256, zp -128. */
typedef struct {
    int32_t input_mult;       /**< Q31 multiplier of beta * input_scale * 2^26 */
    int32_t input_left_shift; /**< >= 0 */
    int32_t diff_min;         /**< <= 0: (x - row max) below this gives exp == 0 */
} en_softmax_params;

/** Softmax over the last dim, int8 in, int8 out (scale 1/256, zero point -128), following
 *  TFLite's fixed-point algorithm (gemmlowp exp_on_negative_values, reciprocal by Newton-Raphson).
 *  The input zero point cancels (only differences to the row max are used).
 * @param[in]  rows   product of all dims but the last, >= 1
 * @param[in]  depth  last dim, 1..511: from a row exp-sum of 512.0 up TFLite's output exponent
 *                    exceeds 31 and TFLite aborts (TFLITE_CHECK), so larger rows are refused
 * @param[in]  in     int8 [rows, depth]
 * @param[out] out    int8 [rows, depth]; may equal in (each row is read fully before written)
 * @return EN_OK or EN_ERR_ARG */
en_status en_softmax_s8(const en_softmax_params *p, int32_t rows, int32_t depth, const int8_t *in,
                        int8_t *out);

/** Constant padding of a 4-D NHWC tensor (TFLite PAD/PADV2 int8). */
typedef struct {
    int32_t before[4]; /**< elements added before, per dim n, h, w, c; >= 0 */
    int32_t after[4];  /**< elements added after, per dim n, h, w, c; >= 0 */
    int32_t value;     /**< pad value in the int8 domain: the output zero point for PAD */
} en_pad_params;

/** Pads `in` with p->value. out_dims must equal in_dims + before + after in every dim.
 * @param[in]  in_dims  [N, H, W, C]     @param[in]  in   int8
 * @param[in]  out_dims                  @param[out] out  int8; disjoint from in
 * @return EN_OK or EN_ERR_ARG */
en_status en_pad_s8(const en_pad_params *p, const en_dims *in_dims, const int8_t *in,
                    const en_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGENAS_KERNELS_H */
