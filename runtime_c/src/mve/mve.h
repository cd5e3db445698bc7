/* Helium (MVE) helpers of the mve build: the requantisation on four int32 lanes, bit-exact with
 * en_requant_s8 (internal/fixedpoint.h) for every input, and small load/store helpers.
 *
 * Why the vector requantisation is exact (en_mbqm = RoundingDivideByPOT(SRDHM(x << l, m), r)):
 *  - x << l: VSHL by a register vector is a plain (wrapping) shift, like en_shl_wrap.
 *  - SRDHM: VQRDMULH gives sat((2ab + 2^31) >> 32) = floor((ab + 2^30) / 2^31), saturating only
 *    a == b == INT32_MIN to INT32_MAX. gemmlowp's (ab + nudge) / 2^31 truncated is the same
 *    floor for both signs of ab (requant_fast.h shows why), with the same saturating case.
 *  - RoundingDivideByPOT(y, e), ties away from zero: VRSHL by -e rounds ties up,
 *    floor((y + 2^(e-1)) / 2^e), computed without overflow. For y < 0 the tie must go down:
 *    floor((y - 1 + 2^(e-1)) / 2^e), so y - 1 is used when y < 0 and e > 0 (the sign bit of
 *    y & -e, as gemmlowp's NEON code does). The decrement saturates only at y = INT32_MIN,
 *    where both forms give -2^(31-e).
 *  - + output_zp wraps like the int32 addition of the reference, then the clamp.
 * Lanes hold either one output channel each (per-channel constants as vectors) or one pixel
 * each (constants duplicated): en_mve_rq carries whichever the caller loaded.
 */
#ifndef EN_MVE_MVE_H
#define EN_MVE_MVE_H

#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 1)
#error "src/mve/ needs a core with Helium (MVE), e.g. -mcpu=cortex-m55; other cores use src/arm/ or src/ref/"
#endif

#include <arm_mve.h>
#include <stdint.h>

#include "edgenas/kernels.h"

/** Requantisation constants for four lanes. */
typedef struct {
    int32x4_t mult; /* Q31 multiplier */
    int32x4_t lsh;  /* max(shift, 0): left shift before the multiply */
    int32x4_t rsh;  /* min(shift, 0) = -e: rounding right shift after it */
} en_mve_rq;

/** Constants from four per-lane (mult, shift) values. */
static inline en_mve_rq en_mve_rq_lanes(int32x4_t mult, int32x4_t shift) {
    en_mve_rq r;
    r.mult = mult;
    r.lsh = vmaxq_s32(shift, vdupq_n_s32(0));
    r.rsh = vminq_s32(shift, vdupq_n_s32(0));
    return r;
}

/** Constants of one channel (or of a per-tensor quantisation) in every lane. */
static inline en_mve_rq en_mve_rq_dup(int32_t mult, int32_t shift) {
    return en_mve_rq_lanes(vdupq_n_s32(mult), vdupq_n_s32(shift));
}

/** Constants of channels c..c+3 of q (per channel), or q's one pair in every lane. The arrays
 *  are read four at a time: callers pass c with c + 4 <= the padded count they own, or use
 *  en_mve_rq_gather. */
static inline en_mve_rq en_mve_rq_channels(const en_requant *q, int32_t c) {
    if (!q->per_channel) {
        return en_mve_rq_dup(q->mult[0], q->shift[0]);
    }
    return en_mve_rq_lanes(vldrwq_s32(q->mult + c), vldrwq_s32(q->shift + c));
}

/** As en_mve_rq_channels for the n < 4 channels left at the end (the other lanes read 0). */
static inline en_mve_rq en_mve_rq_tail(const en_requant *q, int32_t c, int32_t n) {
    if (!q->per_channel) {
        return en_mve_rq_dup(q->mult[0], q->shift[0]);
    }
    const mve_pred16_t p = vctp32q((uint32_t)n);
    return en_mve_rq_lanes(vldrwq_z_s32(q->mult + c, p), vldrwq_z_s32(q->shift + c, p));
}

/** MultiplyByQuantizedMultiplier on four lanes, bit-exact with en_mbqm (file comment). */
static inline int32x4_t en_mve_mbqm(int32x4_t x, const en_mve_rq *r) {
    const int32x4_t y = vqrdmulhq_s32(vshlq_s32(x, r->lsh), r->mult);
    const int32x4_t fix = vshrq_n_s32(vandq_s32(y, r->rsh), 31);
    return vrshlq_s32(vqaddq_s32(y, fix), r->rsh);
}

/** en_requant_s8 on four lanes; the result lanes lie in [lo, hi] (int8), still as int32. */
static inline int32x4_t en_mve_requant(int32x4_t acc, const en_mve_rq *r, int32_t zp,
                                       int32_t lo, int32_t hi) {
    const int32x4_t v = vaddq_n_s32(en_mve_mbqm(acc, r), zp);
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(lo)), vdupq_n_s32(hi));
}

/** en_requant_s8 of n vectors of four lanes, all with the constants r, stored as bytes:
 *  vector i is read at acc + i * acc_step bytes and its four bytes stored at y + i * y_step
 *  (contiguous, or at byte offsets `lanes` with scatter). The loop keeps every constant in a Q
 *  register (13 instructions per vector); GCC 12 reloads some from the stack on each pass.
 *  All four lanes are stored: callers with fewer channels left use en_mve_requant. */
static inline void en_mve_requant_store(const int32_t *acc, int32_t acc_step, int32_t n,
                                        const en_mve_rq *r, int32_t zp, int32x4_t lo,
                                        int32x4_t hi, int8_t *y, int32_t y_step) {
    __asm volatile(
        "wls lr, %[n], 2f\n"
        "1:\n\t"
        "vldrw.32 q0, [%[a]]\n\t"
        "add %[a], %[a], %[as]\n\t"
        "vshl.s32 q0, q0, %q[lsh]\n\t"
        "vqrdmulh.s32 q0, q0, %q[m]\n\t"
        "vand q1, q0, %q[rsh]\n\t"
        "vshr.s32 q1, q1, #31\n\t"
        "vqadd.s32 q0, q0, q1\n\t"
        "vrshl.s32 q0, q0, %q[rsh]\n\t"
        "vadd.i32 q0, q0, %[zp]\n\t"
        "vmax.s32 q0, q0, %q[lo]\n\t"
        "vmin.s32 q0, q0, %q[hi]\n\t"
        "vstrb.32 q0, [%[y]]\n\t"
        "add %[y], %[y], %[ys]\n\t"
        "le lr, 1b\n"
        "2:\n"
        : [a] "+r"(acc), [y] "+l"(y)
        : [n] "r"(n), [as] "r"(acc_step), [ys] "r"(y_step), [m] "w"(r->mult), [lsh] "w"(r->lsh),
          [rsh] "w"(r->rsh), [zp] "r"(zp), [lo] "w"(lo), [hi] "w"(hi)
        : "lr", "q0", "q1", "memory");
}

/** As en_mve_requant_store, with lane l of vector i stored at y + i * y_step + lanes[l]
 *  (a byte scatter, e.g. every other channel). */
static inline void en_mve_requant_scatter(const int32_t *acc, int32_t acc_step, int32_t n,
                                          const en_mve_rq *r, int32_t zp, int32x4_t lo,
                                          int32x4_t hi, uint32x4_t lanes, int8_t *y,
                                          int32_t y_step) {
    __asm volatile(
        "wls lr, %[n], 2f\n"
        "1:\n\t"
        "vldrw.32 q0, [%[a]]\n\t"
        "add %[a], %[a], %[as]\n\t"
        "vshl.s32 q0, q0, %q[lsh]\n\t"
        "vqrdmulh.s32 q0, q0, %q[m]\n\t"
        "vand q1, q0, %q[rsh]\n\t"
        "vshr.s32 q1, q1, #31\n\t"
        "vqadd.s32 q0, q0, q1\n\t"
        "vrshl.s32 q0, q0, %q[rsh]\n\t"
        "vadd.i32 q0, q0, %[zp]\n\t"
        "vmax.s32 q0, q0, %q[lo]\n\t"
        "vmin.s32 q0, q0, %q[hi]\n\t"
        "vstrb.32 q0, [%[y], %q[l]]\n\t"
        "add %[y], %[y], %[ys]\n\t"
        "le lr, 1b\n"
        "2:\n"
        : [a] "+r"(acc), [y] "+l"(y)
        : [n] "r"(n), [as] "r"(acc_step), [ys] "r"(y_step), [m] "w"(r->mult), [lsh] "w"(r->lsh),
          [rsh] "w"(r->rsh), [zp] "r"(zp), [lo] "w"(lo), [hi] "w"(hi), [l] "w"(lanes)
        : "lr", "q0", "q1", "memory");
}

#endif /* EN_MVE_MVE_H */
