/* Helium (MVE) build of the fully-connected layer: same contract and results as ref/fc_s8.c.
 *
 * out[b, o] = requant(bias[o] + sum_i w[o, i] * (x[b, i] - input_zp)) is computed as
 * bias[o] - input_zp * sum_i w[o, i] + sum_i w[o, i] * x[b, i]: the raw int8 input and weights
 * go straight into VMLADAVA (16 products summed per instruction) and VADDVA sums the weights on
 * the way. Four output channels per pass share each 16-byte load of x; a row length that is not
 * a multiple of 16 ends with one tail-predicated step (inactive lanes load as 0). The four
 * accumulators are then requantised as one vector (lanes = channels, mve.h) and stored with a
 * predicated byte store.
 * Exactness: every sum is an integer identity evaluated modulo 2^32; the reference's own bound
 * (kernels.h) keeps the true accumulator inside int32, so the modular value is that accumulator.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "mve/mve.h"

/* dot[j] = sum_i w_j[i] * x[i] and wsum[j] = sum_i w_j[i] over n values for the two weight rows
 * w_0 = w, w_1 = w + stride. Two rows per pass: VMLADAVA and VADDVA accumulate into even
 * registers only, and two rows' four sums plus the pointers and the loop counter fit the
 * register file without spills. */
static void dot_rows2(const int8_t *x, const int8_t *w, size_t stride, int32_t n, int32_t dot[2],
                      int32_t wsum[2]) {
    const int8_t *w0 = w, *w1 = w + stride;
    int32_t d0 = 0, d1 = 0, s0 = 0, s1 = 0;
    for (; n >= 16; n -= 16, x += 16, w0 += 16, w1 += 16) {
        const int8x16_t vx = vldrbq_s8(x);
        const int8x16_t v0 = vldrbq_s8(w0), v1 = vldrbq_s8(w1);
        d0 = vmladavaq_s8(d0, v0, vx);
        s0 = vaddvaq_s8(s0, v0);
        d1 = vmladavaq_s8(d1, v1, vx);
        s1 = vaddvaq_s8(s1, v1);
    }
    if (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        const int8x16_t vx = vldrbq_z_s8(x, p);
        const int8x16_t v0 = vldrbq_z_s8(w0, p), v1 = vldrbq_z_s8(w1, p);
        d0 = vmladavaq_s8(d0, v0, vx);
        s0 = vaddvaq_s8(s0, v0);
        d1 = vmladavaq_s8(d1, v1, vx);
        s1 = vaddvaq_s8(s1, v1);
    }
    dot[0] = d0;
    dot[1] = d1;
    wsum[0] = s0;
    wsum[1] = s1;
}

en_status en_fc_s8(const en_requant *q, int32_t batches, int32_t in_features, const int8_t *in,
                   int32_t out_features, const int8_t *w, const int32_t *bias, int8_t *out) {
    if (en_fc_check_args(q, batches, in_features, in, out_features, w, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    const size_t stride = (size_t)in_features;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * stride;
        int8_t *y = out + (size_t)b * out_features;
        for (int32_t o = 0; o < out_features; o += 4) {
            const int32_t n = out_features - o < 4 ? out_features - o : 4;
            int32_t dot[4], wsum[4];
            /* rows past the last one repeat it (their lanes are not stored): nothing past the
             * weights is read */
            const int8_t *w_o = w + (size_t)o * stride;
            dot_rows2(x, w_o, n > 1 ? stride : 0, in_features, dot, wsum);
            dot_rows2(x, w_o + (n > 2 ? 2 * stride : 0), n > 3 ? stride : 0, in_features, dot + 2,
                      wsum + 2);
            const mve_pred16_t p = vctp32q((uint32_t)n);
            int32x4_t acc = vmlaq_n_s32(vldrwq_s32(dot), vldrwq_s32(wsum), -q->input_zp);
            if (bias != NULL) {
                acc = vaddq_s32(acc, vldrwq_z_s32(bias + o, p));
            }
            const en_mve_rq r = n == 4 ? en_mve_rq_channels(q, o) : en_mve_rq_tail(q, o, n);
            const int32x4_t v = en_mve_requant(acc, &r, q->output_zp, q->act_min, q->act_max);
            vstrbq_p_s32(y + o, v, p);
        }
    }
    return EN_OK;
}
