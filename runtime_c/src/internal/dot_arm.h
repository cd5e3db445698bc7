/* Dot-product helpers of the arm build: ARMv7E-M DSP (SMLAD on sign-extended halfword pairs)
 * when __ARM_FEATURE_DSP is set, plain C otherwise.
 *
 * Bit-exact with the ref loops by construction: every product and sum is an exact integer
 * (|x + offset| <= 255 fits a 16-bit lane, each product < 2^15, and the kernels' accumulator
 * bounds keep the 32-bit sums from wrapping), so only the summation order differs.
 */
#ifndef EN_INTERNAL_DOT_ARM_H
#define EN_INTERNAL_DOT_ARM_H

#include <stdint.h>
#include <string.h>

/** {lo.lo, hi.lo}: two int16 lanes as one word, in C (en_pkhbt is the one-instruction form for
 *  values computed at run time). */
static inline int32_t en_pack16(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define EN_HAVE_DSP 1
#elif defined(EN_EMULATE_DSP)
/* Host emulation of the ACLE intrinsics the arm/ kernels use, from their architectural definitions,
 * so the host test suite exercises the DSP code path (lane order included) against TFLM. */
#define EN_HAVE_DSP 1
typedef int32_t int16x2_t;
typedef int32_t int8x4_t;
static inline int32_t en_emu_lo16(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v & 0xFFFFu); }
static inline int32_t en_emu_hi16(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v >> 16); }
static inline int32_t en_emu_byte(int32_t v, int k) { return (int8_t)(uint8_t)((uint32_t)v >> (8 * k)); }
static inline int16x2_t __sxtb16(int8x4_t a) { return en_pack16(en_emu_byte(a, 0), en_emu_byte(a, 2)); }
static inline int16x2_t __sxtab16(int16x2_t a, int8x4_t b) {
    return en_pack16(en_emu_lo16(a) + en_emu_byte(b, 0), en_emu_hi16(a) + en_emu_byte(b, 2));
}
static inline int32_t __smlad(int16x2_t a, int16x2_t b, int32_t c) {
    return (int32_t)((uint32_t)c + (uint32_t)(en_emu_lo16(a) * en_emu_lo16(b)) +
                     (uint32_t)(en_emu_hi16(a) * en_emu_hi16(b)));
}
static inline int32_t __smlabb(int32_t a, int32_t b, int32_t c) {
    return (int32_t)((uint32_t)c + (uint32_t)(en_emu_lo16(a) * en_emu_lo16(b)));
}
static inline int32_t __smlatt(int32_t a, int32_t b, int32_t c) {
    return (int32_t)((uint32_t)c + (uint32_t)(en_emu_hi16(a) * en_emu_hi16(b)));
}
static inline int32_t __smuad(int16x2_t a, int16x2_t b) { return __smlad(a, b, 0); }
#else
#define EN_HAVE_DSP 0
#endif

/** Unaligned 32-bit load: one LDR on Cortex-M3 and up. __builtin_memcpy, not memcpy: firmware
 *  is built with -ffreestanding (so -fno-builtin), where a plain memcpy is a library call. */
static inline uint32_t en_read_u32(const int8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t en_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

#if EN_HAVE_DSP
/** __sxtab16(a, en_ror8(x)) (bytes 1 and 3 of x, plus a) in one instruction: GCC does not fold
 *  the rotation into SXTAB16 by itself. */
static inline int32_t en_sxtab16_ror8(int32_t a, uint32_t x) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
#else
    return __sxtab16(a, (int8x4_t)en_ror8(x));
#endif
}

/** x saturated to [-128, 127]: one SSAT (GCC folds a preceding arithmetic shift into it). */
static inline int32_t en_ssat8(int32_t x) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    return __ssat(x, 8);
#else
    return x < -128 ? -128 : (x > 127 ? 127 : x);
#endif
}

/** {a.lo, b.lo}: one PKHBT (GCC spells it with two instructions). */
static inline int32_t en_pkhbt(int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t r;
    __asm("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return en_pack16(a, b);
#endif
}

/** {a.hi, b.hi}: one PKHTB. */
static inline int32_t en_pkhtb(int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    int32_t r;
    __asm("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
#else
    return (int32_t)(((uint32_t)a >> 16) | ((uint32_t)b & 0xFFFF0000u));
#endif
}

/** Lane-wise max(v, lo) and min(v, hi) of two int16 lanes: one SSUB16 (setting the GE flags)
 *  and one SEL each, instead of CMP, IT and MOV per lane. Kernels clamping one int8 value use
 *  the low lane and store its low byte. */
static inline int32_t en_max16x2(int32_t v, int32_t lo) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    (void)__ssub16((int16x2_t)v, (int16x2_t)lo);
    return (int32_t)__sel((uint8x4_t)v, (uint8x4_t)lo);
#else
    const int32_t v0 = en_emu_lo16(v), v1 = en_emu_hi16(v), l0 = en_emu_lo16(lo), l1 = en_emu_hi16(lo);
    return en_pack16(v0 < l0 ? l0 : v0, v1 < l1 ? l1 : v1);
#endif
}
static inline int32_t en_min16x2(int32_t v, int32_t hi) {
#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
    (void)__ssub16((int16x2_t)hi, (int16x2_t)v);
    return (int32_t)__sel((uint8x4_t)v, (uint8x4_t)hi);
#else
    const int32_t v0 = en_emu_lo16(v), v1 = en_emu_hi16(v), h0 = en_emu_lo16(hi), h1 = en_emu_hi16(hi);
    return en_pack16(v0 > h0 ? h0 : v0, v1 > h1 ? h1 : v1);
#endif
}
#endif

/** acc + sum_{i < n} w[i] * (x[i] + offset), offset = -input_zp in [-127, 128]. */
static inline int32_t en_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t offset,
                                int32_t acc) {
#if EN_HAVE_DSP
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    for (; n >= 4; n -= 4, x += 4, w += 4) {
        const uint32_t xv = en_read_u32(x);
        const uint32_t wv = en_read_u32(w);
        const int16x2_t x02 = __sxtab16(off2, (int8x4_t)xv);          /* bytes 0 and 2 */
        const int16x2_t x13 = __sxtab16(off2, (int8x4_t)en_ror8(xv)); /* bytes 1 and 3 */
        acc = __smlad(x02, __sxtb16((int8x4_t)wv), acc);
        acc = __smlad(x13, __sxtb16((int8x4_t)en_ror8(wv)), acc);
    }
#endif
    for (; n > 0; --n) {
        acc += (int32_t)*w++ * ((int32_t)*x++ + offset);
    }
    return acc;
}

/** Two dot products sharing one input vector (two output channels): the input lanes are
 *  unpacked once and used twice. */
static inline void en_dot2_s8(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n,
                              int32_t offset, int32_t *acc0, int32_t *acc1) {
    int32_t a0 = *acc0, a1 = *acc1;
#if EN_HAVE_DSP
    const int32_t off2 = (int32_t)(((uint32_t)offset & 0xFFFFu) * 0x00010001u);
    for (; n >= 4; n -= 4, x += 4, w0 += 4, w1 += 4) {
        const uint32_t xv = en_read_u32(x);
        const int16x2_t x02 = __sxtab16(off2, (int8x4_t)xv);
        const int16x2_t x13 = __sxtab16(off2, (int8x4_t)en_ror8(xv));
        const uint32_t v0 = en_read_u32(w0);
        const uint32_t v1 = en_read_u32(w1);
        a0 = __smlad(x02, __sxtb16((int8x4_t)v0), a0);
        a0 = __smlad(x13, __sxtb16((int8x4_t)en_ror8(v0)), a0);
        a1 = __smlad(x02, __sxtb16((int8x4_t)v1), a1);
        a1 = __smlad(x13, __sxtb16((int8x4_t)en_ror8(v1)), a1);
    }
#endif
    for (; n > 0; --n, ++x, ++w0, ++w1) {
        const int32_t xo = (int32_t)*x + offset;
        a0 += (int32_t)*w0 * xo;
        a1 += (int32_t)*w1 * xo;
    }
    *acc0 = a0;
    *acc1 = a1;
}

#endif /* EN_INTERNAL_DOT_ARM_H */
