"""Fixed-point 512-point real FFT, vectorised over frames: the reference the C version
(``runtime_c/frontend/src/frontend_fft.c``) must match bit for bit.

A real frame of 512 samples is read as 256 complex values z[n] = x[2n] + i x[2n+1], transformed
by an in-place radix-2 decimation-in-time FFT, and split into the 257 bins of the real spectrum.
Data stay int32 with no scaling between stages; each twiddle product is computed in int64 and
rounded once (add 2^14, arithmetic shift right by 15).

Bounds: |x| <= 32767 on 480 non-zero samples, so every |Z[k]| <= 240 * sqrt(2) * 32767 < 2^23.3
and every butterfly output and split-step term stays below 2^25.3 per component: int32 holds
them, and a twiddle product (< 2^25.3 * 2^15 * 2) fits int64 with room to spare.
"""

from __future__ import annotations

import numpy as np

from . import config as cf
from .tables import frontend_tables

HALF = cf.FFT_SIZE // 2
ROUND = 1 << (cf.TWIDDLE_FRAC_BITS - 1)


def _bit_reverse(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    return np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(n)])


def _twiddle(re: np.ndarray, im: np.ndarray, c: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(re + i im) * (c - i s), i.e. times exp(-2 pi i k / N) with c, s in Q15, rounded."""
    shift = cf.TWIDDLE_FRAC_BITS
    return (re * c + im * s + ROUND) >> shift, (im * c - re * s + ROUND) >> shift


def rfft_q(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` int ``(M, 512)`` real frames → (re, im) int64 ``(M, 257)`` of **2·X[k]** (the split
    step's halving is left out; the power shift absorbs it)."""
    if x.ndim != 2 or x.shape[1] != cf.FFT_SIZE:
        raise ValueError(f"frames must be (M, {cf.FFT_SIZE}), got {x.shape}")
    t = frontend_tables()
    # Frames on the last axis: every stage then runs long contiguous loops over frames, whatever
    # the butterfly span (frames first made the early stages' 1- and 2-element rows slow).
    xt = np.ascontiguousarray(x.T, dtype=np.int64)
    order = _bit_reverse(HALF)
    re, im = xt[0::2][order], xt[1::2][order]
    m = x.shape[0]
    span = 2
    while span <= HALF:
        half = span // 2
        k = np.arange(half) * (cf.FFT_SIZE // span)  # W_span^j = W_512^(j * 512 / span)
        re3, im3 = re.reshape(HALF // span, span, m), im.reshape(HALF // span, span, m)
        ar, ai, br, bi = re3[:, :half], im3[:, :half], re3[:, half:], im3[:, half:]
        tr, ti = _twiddle(br, bi, t.cos[k][:, None], t.sin[k][:, None])
        br[...] = ar - tr  # b first: a is still needed
        bi[...] = ai - ti
        ar += tr
        ai += ti
        span *= 2

    # Split: with Z[256] = Z[0], Ze[k] = Z[k] + conj(Z[256-k]) = 2 E[k] (even samples' FFT) and
    # Zo[k] = -i (Z[k] - conj(Z[256-k])) = 2 O[k]; then 2 X[k] = Ze[k] + W^k Zo[k].
    k = np.arange(HALF)
    mirror = (HALF - k) % HALF
    mr, mi = re[mirror], -im[mirror]
    er, ei = re + mr, im + mi
    o_r, o_i = im - mi, mr - re  # -i (a + ib) = b - ia
    tr, ti = _twiddle(o_r, o_i, t.cos[:, None], t.sin[:, None])
    out_re = np.concatenate([er + tr, 2 * (re[:1] - im[:1])], axis=0).T
    out_im = np.concatenate([ei + ti, np.zeros((1, m), np.int64)], axis=0).T
    return out_re, out_im
