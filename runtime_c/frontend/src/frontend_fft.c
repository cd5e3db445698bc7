/* 512-point real FFT in fixed point: 256-point complex radix-2 DIT FFT on z[n] = x[2n] + i x[2n+1]
 * (the real frame read as interleaved complex values, so no copy), then the split step into the
 * 257 bins of the real spectrum. Mirrors edgenas/audio/fft.py operation for operation.
 *
 * No scaling between stages. Bounds: |x| <= 32767 on at most 480 non-zero samples gives
 * |Z[k]| <= 240 * sqrt(2) * 32767 < 2^23.3, and every butterfly and split term < 2^25.3 per
 * component (int32). A twiddle product is < 2^25.3 * 2^15 * 2, far inside int64; it is rounded
 * once (+2^14, arithmetic >> 15; gcc and every Cortex-M compiler shift signed values arithmetically).
 */
#include "edgenas/frontend.h"
#include "frontend_tables.h"

#define HALF (EN_FE_FFT_SIZE / 2)
#define ROUND_Q15 (1 << (EN_FE_TWIDDLE_FRAC_BITS - 1))

/* (re + i im) * (c - i s) = (re c + im s) + i (im c - re s): times exp(-2 pi i k / 512). */
static inline int32_t twiddle_re(int32_t re, int32_t im, int32_t c, int32_t s) {
    return (int32_t)(((int64_t)re * c + (int64_t)im * s + ROUND_Q15) >> EN_FE_TWIDDLE_FRAC_BITS);
}

static inline int32_t twiddle_im(int32_t re, int32_t im, int32_t c, int32_t s) {
    return (int32_t)(((int64_t)im * c - (int64_t)re * s + ROUND_Q15) >> EN_FE_TWIDDLE_FRAC_BITS);
}

static void fft256(int32_t *z) {
    /* Bit-reversal permutation; j is i's reverse, advanced by a reversed increment (carry from the top). */
    for (uint32_t i = 0, j = 0; i < HALF; ++i) {
        if (j > i) {
            int32_t tr = z[2 * i], ti = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = tr;
            z[2 * j + 1] = ti;
        }
        uint32_t bit = HALF >> 1;
        while (bit != 0u && (j & bit) != 0u) {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
    }
    for (int span = 2; span <= HALF; span <<= 1) {
        const int half = span >> 1, step = EN_FE_FFT_SIZE / span; /* W_span^j = W_512^(j * step) */
        for (int j = 0; j < half; ++j) { /* butterflies of a stage are independent: one twiddle load per j */
            const int32_t c = en_fe_cos[j * step], s = en_fe_sin[j * step];
            for (int g = 0; g < HALF; g += span) {
                int32_t *a = &z[2 * (g + j)], *b = &z[2 * (g + j + half)];
                const int32_t tr = twiddle_re(b[0], b[1], c, s), ti = twiddle_im(b[0], b[1], c, s);
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
}

/* 2 X[k] from Z[k] and Z[m], m = (256 - k) mod 256: Ze = Z[k] + conj(Z[m]), Zo = -i (Z[k] - conj(Z[m])),
 * 2 X[k] = Ze + W^k Zo. */
static void split_bin(int32_t zr, int32_t zi, int32_t mr, int32_t mi_conj, int k, int32_t *out) {
    const int32_t er = zr + mr, ei = zi + mi_conj;
    const int32_t o_r = zi - mi_conj, o_i = mr - zr; /* -i (a + ib) = b - ia */
    out[0] = er + twiddle_re(o_r, o_i, en_fe_cos[k], en_fe_sin[k]);
    out[1] = ei + twiddle_im(o_r, o_i, en_fe_cos[k], en_fe_sin[k]);
}

void en_fe_rfft_q(int32_t *buf) {
    fft256(buf);
    /* Bin 256 (Nyquist) from Z[0] before it is overwritten: 2 X[256] = 2 (Re Z[0] - Im Z[0]). */
    buf[2 * HALF] = 2 * (buf[0] - buf[1]);
    buf[2 * HALF + 1] = 0;
    /* Bins k and m depend on the same two inputs: read both, then write both. */
    for (int k = 0; k <= HALF / 2; ++k) {
        const int m = (HALF - k) % HALF;
        const int32_t zr = buf[2 * k], zi = buf[2 * k + 1], mr = buf[2 * m], mi = buf[2 * m + 1];
        int32_t xk[2], xm[2];
        split_bin(zr, zi, mr, -mi, k, xk);
        split_bin(mr, mi, zr, -zi, m, xm);
        buf[2 * k] = xk[0];
        buf[2 * k + 1] = xk[1];
        if (m != k) {
            buf[2 * m] = xm[0];
            buf[2 * m + 1] = xm[1];
        }
    }
}
