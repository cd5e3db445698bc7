/* Power spectrum, mel filterbank and integer log2. Mirrors edgenas/audio/frontend.py.
 *
 * Bounds: |2X| < 2^25.05 per bin, so P = (re^2 + im^2) >> 10 < 2^40.1; a filter sums at most
 * EN_FE_MAX_FILTER_BINS (64) bins with Q12 weights <= 2^12: E < 2^12 * 2^40.1 * 2^6 < 2^59 (int64).
 */
#include "edgenas/frontend.h"
#include "frontend_internal.h"
#include "frontend_tables.h"

int32_t en_fe_log2_q16(int64_t e) {
    if (e < 1) {
        e = 1;
    }
    int32_t n = 0; /* top bit, by binary search (no clz builtin needed) */
    int64_t v = e;
    for (int s = 32; s > 0; s >>= 1) {
        if ((v >> s) > 0) {
            n += s;
            v >>= s;
        }
    }
    const int fb = EN_FE_LOG2_FRAC_BITS, low = EN_FE_LOG2_FRAC_BITS - EN_FE_LOG2_LUT_BITS;
    const int64_t mant = n >= fb ? e >> (n - fb) : e << (fb - n); /* [2^16, 2^17) */
    const int32_t frac = (int32_t)(mant - ((int64_t)1 << fb));
    const int32_t i = frac >> low, r = frac & ((1 << low) - 1);
    const int32_t d = en_fe_log2_lut[i + 1] - en_fe_log2_lut[i]; /* <= 1,500: d * r fits int32 */
    return (n << fb) + en_fe_log2_lut[i] + ((d * r + (1 << (low - 1))) >> low);
}

void en_fe_mel_u8(const int32_t *bins, uint8_t *out) {
    for (int j = 0; j < EN_FE_MEL_BINS; ++j) {
        const int start = en_fe_mel_start[j], len = en_fe_mel_len[j];
        const int16_t *w = &en_fe_mel_weights[en_fe_mel_offset[j]];
        int64_t energy = 0;
        for (int i = 0; i < len; ++i) {
            const int32_t re = bins[2 * (start + i)], im = bins[2 * (start + i) + 1];
            /* int32 x int32 -> int64 products (one SMULL each on a Cortex-M); their sum < 2^50.1. */
            energy += (int64_t)w[i] * (((int64_t)re * re + (int64_t)im * im) >> EN_FE_POWER_SHIFT);
        }
        int32_t level = en_fe_log2_q16(energy) - EN_FE_LOG_OFFSET_Q16; /* < 2^22: times 29 fits int32 */
        if (level < 0) {
            level = 0;
        }
        const int32_t v = (level * EN_FE_OUT_MULT) >> EN_FE_OUT_SHIFT;
        out[j] = (uint8_t)(v > 255 ? 255 : v);
    }
}
