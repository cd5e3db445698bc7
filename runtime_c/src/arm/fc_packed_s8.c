/* ARMv7E-M build of the fully-connected layer with packed or wide weights and a folded bias:
 * same contract and results as ref/fc_packed_s8.c (en_fc_packed_s8, en_fc_wide_s8).
 *
 * The input is sign-extended once per call into int16 pairs, (x0, x2) and (x1, x3) per four
 * values, the lanes SXTB16 gives a weight word and its rotation by 8, so each SMLAD pairs them
 * directly (expand16: 16 instructions per 16 inputs). A group of four rows then costs per four
 * inputs one LDM of its four weight words (the packed layout puts them side by side), one LDRD
 * of the input pairs, and two SXTB16 and two SMLAD per row: 18 instructions per 16 MACs, plus
 * the loop branch every fourth chunk. A group of two rows (the C_out % 4 rows left over) loads
 * two chunks of both rows with one LDM and their input pairs with another: 20 instructions per
 * 16 MACs. A single row runs from C.
 *
 * The groups of four run in one assembly routine, fc_rows4, which also requantises: with the
 * 14 registers the dot-product loop needs, C around an assembly dot product spilled its loop
 * state around every group. Per-tensor with -22 <= shift <= -1 (the usual FC case) an output
 * takes five instructions (fc_fast, FC_RQ): QADD (2 * acc, saturating and setting the sticky Q
 * flag when acc is outside [-2^30, 2^30), the one case where the SMMULR form is not exact),
 * SMMLAR (TFLite's SRDHM plus a constant that holds the output zero point and the rounding of
 * the final shift), ADD of the sign, ASR and SSAT; four outputs are packed into one word (BFI),
 * clamped to the activation range as four lanes (SSUB8/SEL) and stored with one STR. A group
 * whose QADDs set Q is requantised output by output (fc_store: the fast form where a sum is in
 * range); per-channel quantisations and other shifts use the exact 64-bit form (requant_fast.h,
 * en_requant_fast). Inputs longer than FC_SLICE are
 * expanded slice by slice, per group (slower, and rare on a microcontroller).
 * Wide weights (int16, each row's chunk already in the lanes of the expanded input) skip the
 * SXTB16: a group of four rows costs per four inputs one LDRD of the input pairs, two LDM of
 * two rows' words and eight SMLAD, 11 instructions per 16 MACs instead of 18 (fc_rows4w, the
 * same assembly around another chunk). The groups of 2 and 1 left over run from C (packed: dot2)
 * and are requantised by fc_store.
 * Exactness: every product and partial sum is an integer evaluated modulo 2^32 (SMLAD wraps, the
 * C sums are unsigned); the final sum is en_fc_s8's accumulator, which its bound keeps in int32.
 */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/dot_arm.h"
#include "internal/fc_packed.h"
#include "internal/fixedpoint.h"
#include "internal/requant_fast.h"

/* Inputs expanded per slice: 4 bytes of int16 pairs per 4 inputs, 2 KB of stack. */
#define FC_SLICE 1024

#if defined(__ARM_FEATURE_DSP) && !defined(EN_EMULATE_DSP)
#define FC_ASM 1 /* the ARMv7E-M instructions themselves, not the host emulation */
#else
#define FC_ASM 0
#endif

/* Lanes (lo, hi) of two int16 values as one word. */
static inline uint32_t pair16(int32_t lo, int32_t hi) {
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

#if EN_HAVE_DSP
/* SXTB16 of bytes 1 and 3: one instruction with the rotation folded in. */
static inline int32_t sxtb16_ror8(uint32_t v) {
#if FC_ASM
    int32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
#else
    return __sxtb16((int8x4_t)en_ror8(v));
#endif
}
#endif

/* acc + w * x for one weight word (4 int8) and its input pairs xa = (x0, x2), xb = (x1, x3). */
static inline int32_t mac4(int32_t acc, uint32_t w, uint32_t xa, uint32_t xb) {
#if EN_HAVE_DSP
    acc = __smlad(__sxtb16((int8x4_t)w), (int16x2_t)xa, acc);
    return __smlad(sxtb16_ror8(w), (int16x2_t)xb, acc);
#else
    /* byte k of the (little-endian) weight word is weight k of the chunk */
    uint32_t a = (uint32_t)acc;
    a += (uint32_t)((int8_t)(w & 0xFFu) * (int32_t)(int16_t)(xa & 0xFFFFu)) +
         (uint32_t)((int8_t)((w >> 16) & 0xFFu) * (int32_t)(int16_t)(xa >> 16));
    a += (uint32_t)((int8_t)((w >> 8) & 0xFFu) * (int32_t)(int16_t)(xb & 0xFFFFu)) +
         (uint32_t)((int8_t)(w >> 24) * (int32_t)(int16_t)(xb >> 16));
    return (int32_t)a;
#endif
}

/* acc + the two int16 products of words a and b (SMLAD), modulo 2^32. */
static inline int32_t smlad16(uint32_t a, uint32_t b, int32_t acc) {
#if EN_HAVE_DSP
    return __smlad((int16x2_t)a, (int16x2_t)b, acc);
#else
    return (int32_t)((uint32_t)acc + (uint32_t)((int16_t)(a & 0xFFFFu) * (int16_t)(b & 0xFFFFu)) +
                     (uint32_t)((int16_t)(a >> 16) * (int16_t)(b >> 16)));
#endif
}

/* xs[2k] = (x[4k], x[4k+2]), xs[2k+1] = (x[4k+1], x[4k+3]) for the 16 * blocks inputs at x. */
#if FC_ASM
/* 16 inputs per pass in 16 instructions: four (unaligned) LDR, eight SXTB16, two STM and the
 * loop, half the cost of C. */
__attribute__((naked, noinline)) static void expand16(const int8_t *x, int32_t blocks,
                                                      uint32_t *xs) {
    (void)x, (void)blocks, (void)xs; /* in r0-r2 */
    __asm volatile("push {r4, r5, r6, r7, r8, r9, r10, lr}\n"
                   "1:\n\t"
                   "ldr r3, [r0], #4\n\t"
                   "ldr r4, [r0], #4\n\t"
                   "ldr r5, [r0], #4\n\t"
                   "ldr r6, [r0], #4\n\t"
                   "sxtb16 r7, r3\n\t"
                   "sxtb16 r8, r3, ror #8\n\t"
                   "sxtb16 r9, r4\n\t"
                   "sxtb16 r10, r4, ror #8\n\t"
                   "stm r2!, {r7, r8, r9, r10}\n\t"
                   "sxtb16 r7, r5\n\t"
                   "sxtb16 r8, r5, ror #8\n\t"
                   "sxtb16 r9, r6\n\t"
                   "sxtb16 r10, r6, ror #8\n\t"
                   "stm r2!, {r7, r8, r9, r10}\n\t"
                   "subs r1, r1, #1\n\t"
                   "bne 1b\n\t"
                   "pop {r4, r5, r6, r7, r8, r9, r10, pc}\n");
}
#else
static void expand16(const int8_t *x, int32_t blocks, uint32_t *xs) {
    for (int32_t n = 4 * blocks; n > 0; --n, x += 4, xs += 2) {
        xs[0] = pair16(x[0], x[2]);
        xs[1] = pair16(x[1], x[3]);
    }
}
#endif

/* The same for n inputs, zeros past them up to a multiple of 16 (the packed rows' zero weights
 * meet them). */
static inline void expand_input(const int8_t *x, int32_t n, uint32_t *xs) {
    const int32_t full = n & ~15;
    if (full > 0) {
        expand16(x, full / 16, xs);
    }
    if (n > full) {
        int8_t tail[16] = {0};
        for (int32_t i = full; i < n; ++i) {
            tail[i - full] = x[i];
        }
        expand16(tail, 1, xs + full / 2);
    }
}

/* The per-tensor requantisation of the fast form: out = (SRDHM(acc, mult) - (acc < 0) + k) >> r
 * saturated to int8, with r = -shift in [1, 22] and k = (2 * output_zp + 1) << (r - 1). This is
 * requant_fast.h's en_rq_scale with its two steps merged: floor((floor(a / 2^(r-1)) + c) / 2)
 * = floor((a + c * 2^(r-1)) / 2^r) for an integer c = 2 * zp + 1, and y + (y >> 31) there may
 * use acc's sign instead of y's (y < 0 implies acc < 0, as mult >= 0; for acc < 0 with y == 0
 * both give zp). Exact when 2 * acc fits int32 (-2^30 <= acc < 2^30, SMMULR = SRDHM; the QADD
 * saturates otherwise, setting Q); then |y| <= 2^30 and |k| < 2^29, so nothing wraps. */
typedef struct {
    int32_t mult;
    int32_t k;
    int32_t r;
    uint32_t lo4, hi4; /* act_min, act_max in each of four int8 lanes */
} fc_fast;

/* k + SMMULR(s, mult): SMMLAR, (k * 2^32 + s * mult + 2^31) >> 32. */
static inline int32_t fc_smmlar(int32_t s, int32_t mult, int32_t k) {
#if FC_ASM
    int32_t v;
    __asm("smmlar %0, %1, %2, %3" : "=r"(v) : "r"(s), "r"(mult), "r"(k));
    return v;
#else
    const int64_t p = (int64_t)k * 4294967296LL + (int64_t)s * mult + 2147483648LL;
    return (int32_t)(uint32_t)(p >> 32);
#endif
}

/* v saturated to int8: one SSAT (GCC compares twice for the clamp). */
static inline int32_t fc_ssat8(int32_t v) {
#if FC_ASM
    int32_t r;
    __asm("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
#else
    return en_clamp_i32(v, EN_INT8_MIN, EN_INT8_MAX);
#endif
}

/* One output of the fast form (FC_RQ) for s = 2 * acc, saturated to int8 (SSAT). */
static inline uint32_t fc_rq_fast(const fc_fast *f, int32_t acc, int32_t s) {
    return (uint32_t)fc_ssat8((fc_smmlar(s, f->mult, f->k) + (acc >> 31)) >> f->r) & 0xFFu;
}

/* y[o + j] for the g accumulators of rows o..: the fast form (f->r != 0) where acc is in its
 * range, else the exact 64-bit form (any quantisation). */
static void __attribute__((noinline)) fc_store(const en_requant *q, const fc_fast *f, int32_t o,
                                               int32_t g, const int32_t *acc, int8_t *y) {
    for (int32_t j = 0; j < g; ++j) {
        const int32_t a = acc[j];
        if (f->r != 0 && a >= -(1 << 30) && a < (1 << 30)) {
            const int32_t v = (int8_t)(uint8_t)fc_rq_fast(f, a, a * 2);
            y[o + j] = (int8_t)en_clamp_i32(v, q->act_min, q->act_max);
            continue;
        }
        const int32_t qc = q->per_channel ? o + j : 0;
        y[o + j] = en_requant_fast(a, q->mult[qc], q->shift[qc], q->output_zp, q->act_min,
                                   q->act_max);
    }
}

/* The state of a run of groups of four rows (fc_rows4, fc_rows4w); the assembly reads it at
 * these byte offsets: w 0, xs 4, chunks 8, bias 12, bstep 16, y 20, groups 24, f 28 (mult, k, r,
 * lo4, hi4), acc 48. */
typedef struct {
    const void *w;       /* the next group's weights (int8 packed or int16 wide) */
    const uint32_t *xs;  /* the expanded input */
    int32_t chunks;      /* its chunks of four inputs, >= 1 */
    const int32_t *bias; /* the next group's four initial sums */
    int32_t bstep;       /* bytes from one group's bias to the next: 16, or 0 (zeros) */
    int8_t *y;           /* the next group's outputs */
    int32_t groups;      /* groups left, >= 1 */
    fc_fast f;           /* f.r == 0: no requantisation, stop after each group */
    int32_t acc[4];      /* the sums of the group a run stopped at */
} fc_run;

/* Runs r->groups groups of four rows (see FC_ROWS4_ASM); 0 when all ran, 1 when it stopped. */
typedef int (*fc_rows_fn)(fc_run *r);

#if FC_ASM
typedef char fc_run_layout_check[offsetof(fc_run, f) == 28 && offsetof(fc_run, acc) == 48 ? 1
                                                                                          : -1];

/* One chunk (four inputs) of one row: weight word W, accumulator A, input pairs XA / XB, T a
 * scratch register; W is consumed. Operands are register names. */
#define FC_ROW(A, W, XA, XB, T)                                                                    \
    "sxtb16 " T ", " W "\n\t"                                                                      \
    "smlad " A ", " T ", " XA ", " A "\n\t"                                                        \
    "sxtb16 " W ", " W ", ror #8\n\t"                                                              \
    "smlad " A ", " W ", " XB ", " A "\n\t"

/* One chunk of four rows: r0 weights, r1 input pairs, r3 scratch, r4-r7 the accumulators,
 * r8-r11 the weight words, r12 / lr the input pairs. 18 32-bit instructions, 72 bytes. */
#define FC_CHUNK4                                                                                  \
    "ldm.w r0!, {r8, r9, r10, r11}\n\t"                                                            \
    "ldrd r12, lr, [r1], #8\n\t"                                                                   \
    FC_ROW("r4", "r8", "r12", "lr", "r3") FC_ROW("r5", "r9", "r12", "lr", "r3")                    \
    FC_ROW("r6", "r10", "r12", "lr", "r3") FC_ROW("r7", "r11", "r12", "lr", "r3")

/* The same on wide weights: each row's two words are already the int16 pairs, {w0, w2} and
 * {w1, w3}, so two LDM of two rows each and eight SMLAD: 11 32-bit instructions, 44 bytes. */
#define FC_CHUNK4W                                                                                 \
    "ldrd r12, lr, [r1], #8\n\t"                                                                   \
    "ldm.w r0!, {r8, r9, r10, r11}\n\t"                                                            \
    "smlad r4, r8, r12, r4\n\t"                                                                    \
    "smlad r4, r9, lr, r4\n\t"                                                                     \
    "smlad r5, r10, r12, r5\n\t"                                                                   \
    "smlad r5, r11, lr, r5\n\t"                                                                    \
    "ldm.w r0!, {r8, r9, r10, r11}\n\t"                                                            \
    "smlad r6, r8, r12, r6\n\t"                                                                    \
    "smlad r6, r9, lr, r6\n\t"                                                                     \
    "smlad r7, r10, r12, r7\n\t"                                                                   \
    "smlad r7, r11, lr, r7\n\t"

/* One output of the fast form (fc_fast): S = 2 * acc from QADD, A = acc; r0 mult, r1 k,
 * r2 r. */
#define FC_RQ(S, A)                                                                                \
    "smmlar " S ", " S ", r0, r1\n\t"                                                              \
    "add " S ", " S ", " A ", asr #31\n\t"                                                         \
    "asr " S ", " S ", r2\n\t"                                                                     \
    "ssat " S ", #8, " S "\n\t"

/* Runs r->groups groups of four rows: each group's sums start from r->bias and take one pass
 * over the input; then (f.r != 0) its four outputs in the fast form, clamped and stored as one
 * word. Returns 0 when all ran; 1 when it stopped at a group, whose sums are then in r->acc
 * (f.r == 0, or a sum out of the fast form's range: the caller requantises it exactly), with
 * r->w past that group and bias, y, groups still at it.
 * Whole-function assembly: the dot-product loop needs 14 registers, so the run's state lives
 * in *r, and a group costs about 50 instructions besides its chunks (about 60 as C around an
 * assembly dot product). Four chunks per pass; the first pass does the n % 4 left over (all
 * four when none), entering the unrolled body at copy (4 - n % 4) % 4 through TBB: TABLE holds
 * 2 + (chunk bytes / 2) * copy, in halfwords from its own address (= PC at the TBB). The Q flag
 * is cleared before the QADDs (SMLAD and SSAT set it too). CHUNK is FC_CHUNK4 or FC_CHUNK4W. */
#define FC_ROWS4_ASM(CHUNK, TABLE)                                                                 \
    "push {r0, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n" /* r at [sp] */                           \
    "1:\n\t"                                                                                       \
    "ldm r0, {r0, r1, r2, r3}\n\t" /* w, xs, chunks, bias */                                       \
    "ldm r3, {r4, r5, r6, r7}\n\t"                                                                 \
    "and r3, r2, #3\n\t"                                                                           \
    "adds r2, r2, #3\n\t"                                                                          \
    "lsrs r2, r2, #2\n\t" /* passes */                                                             \
    "tbb [pc, r3]\n\t"                                                                             \
    TABLE /* n % 4 = 0, 1, 2, 3: copies 0, 3, 2, 1 */                                              \
    "2:\n\t"                                                                                       \
    CHUNK CHUNK CHUNK CHUNK                                                                        \
    "subs r2, r2, #1\n\t"                                                                          \
    "bne 2b\n\t"                                                                                   \
    "ldr r3, [sp]\n\t"                                                                             \
    "str r0, [r3]\n\t" /* w */                                                                     \
    "ldr r2, [r3, #36]\n\t" /* f.r */                                                              \
    "cmp r2, #0\n\t"                                                                               \
    "beq 3f\n\t"                                                                                   \
    "movs r0, #0\n\t"                                                                              \
    "msr APSR_nzcvq, r0\n\t"                                                                       \
    "qadd r8, r4, r4\n\t"                                                                          \
    "qadd r9, r5, r5\n\t"                                                                          \
    "qadd r10, r6, r6\n\t"                                                                         \
    "qadd r11, r7, r7\n\t"                                                                         \
    "mrs r0, APSR\n\t"                                                                             \
    "lsls r0, r0, #4\n\t" /* Q (bit 27) to N (bit 31) */                                           \
    "bmi 3f\n\t"                                                                                   \
    "ldrd r0, r1, [r3, #28]\n\t" /* f.mult, f.k */                                                 \
    FC_RQ("r8", "r4") FC_RQ("r9", "r5") FC_RQ("r10", "r6") FC_RQ("r11", "r7")                      \
    "bfi r8, r9, #8, #8\n\t"                                                                       \
    "bfi r8, r10, #16, #8\n\t"                                                                     \
    "bfi r8, r11, #24, #8\n\t"                                                                     \
    "ldrd r0, r1, [r3, #40]\n\t" /* f.lo4, f.hi4: clamp4_s8 */                                     \
    "ssub8 r2, r8, r0\n\t"                                                                         \
    "sel r8, r8, r0\n\t"                                                                           \
    "ssub8 r2, r1, r8\n\t"                                                                         \
    "sel r8, r8, r1\n\t"                                                                           \
    "ldrd r0, r1, [r3, #12]\n\t" /* bias, bstep */                                                 \
    "add r0, r0, r1\n\t"                                                                           \
    "str r0, [r3, #12]\n\t"                                                                        \
    "ldrd r1, r2, [r3, #20]\n\t" /* y, groups */                                                   \
    "str r8, [r1], #4\n\t" /* (unaligned) */                                                       \
    "subs r2, r2, #1\n\t"                                                                          \
    "strd r1, r2, [r3, #20]\n\t"                                                                   \
    "mov r0, r3\n\t"                                                                               \
    "bne 1b\n\t"                                                                                   \
    "movs r0, #0\n\t"                                                                              \
    "pop {r1, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                             \
    "3:\n\t"                                                                                       \
    "add r0, r3, #48\n\t"                                                                          \
    "stm r0, {r4, r5, r6, r7}\n\t" /* acc */                                                       \
    "movs r0, #1\n\t"                                                                              \
    "pop {r1, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"

__attribute__((naked, noinline)) static int fc_rows4(fc_run *r) {
    (void)r; /* in r0 */
    __asm volatile(FC_ROWS4_ASM(FC_CHUNK4, ".byte 2, 110, 74, 38\n"));
}

__attribute__((naked, noinline)) static int fc_rows4w(fc_run *r) {
    (void)r; /* in r0 */
    __asm volatile(FC_ROWS4_ASM(FC_CHUNK4W, ".byte 2, 68, 46, 24\n"));
}

/* The two-row groups: acc[0..1] = init[0..1] + the two rows of the group at wp times n >= 1
 * chunks; returns wp advanced. Two chunks per pass, after one alone when n is odd; r0 weights,
 * r1 input pairs, r4 / r5 the accumulators. ONE is a chunk's code with its input pairs in
 * r10 / r11 (loaded by LDRD), TWO two chunks' (the four pairs in r10-r12, lr, loaded by LDM). */
#define FC_DOT2_ASM(ONE, TWO)                                                                      \
    "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"                                              \
    "sub sp, sp, #4\n\t" /* keep sp 8-byte aligned: acc at [sp, #40] */                            \
    "ldrd r4, r5, [r3]\n\t"                                                                        \
    "tst r2, #1\n\t"                                                                               \
    "beq 1f\n\t"                                                                                   \
    "ldrd r10, r11, [r1], #8\n\t"                                                                  \
    ONE                                                                                            \
    "subs r2, r2, #1\n\t"                                                                          \
    "beq 2f\n"                                                                                     \
    "1:\n\t"                                                                                       \
    "ldm r1!, {r10, r11, r12, lr}\n\t"                                                             \
    TWO                                                                                            \
    "subs r2, r2, #2\n\t"                                                                          \
    "bne 1b\n"                                                                                     \
    "2:\n\t"                                                                                       \
    "ldr r3, [sp, #40]\n\t"                                                                        \
    "strd r4, r5, [r3]\n\t"                                                                        \
    "add sp, sp, #4\n\t"                                                                           \
    "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"

/* Packed: one LDRD of a chunk's two words (row 0, row 1) or one LDM of two chunks' four (r6-r9). */
__attribute__((naked, noinline)) static const int8_t *dot2(const int8_t *wp, const uint32_t *xs,
                                                           int32_t n, const int32_t *init,
                                                           int32_t *acc) {
    (void)wp, (void)xs, (void)n, (void)init, (void)acc; /* in r0-r3 and on the stack */
    __asm volatile(FC_DOT2_ASM("ldrd r6, r7, [r0], #8\n\t"
                               FC_ROW("r4", "r6", "r10", "r11", "r3")
                               FC_ROW("r5", "r7", "r10", "r11", "r3"),
                               "ldm r0!, {r6, r7, r8, r9}\n\t"
                               FC_ROW("r4", "r6", "r10", "r11", "r3")
                               FC_ROW("r5", "r7", "r10", "r11", "r3")
                               FC_ROW("r4", "r8", "r12", "lr", "r3")
                               FC_ROW("r5", "r9", "r12", "lr", "r3")));
}

/* Wide: a chunk is four words (row 0's pair words, then row 1's), SMLAD's operands as they are:
 * one LDM of a chunk's words (r6-r9) and four SMLAD. */
#define FC_CHUNK2W(XA, XB)                                                                         \
    "ldm r0!, {r6, r7, r8, r9}\n\t"                                                                \
    "smlad r4, r6, " XA ", r4\n\t"                                                                 \
    "smlad r4, r7, " XB ", r4\n\t"                                                                 \
    "smlad r5, r8, " XA ", r5\n\t"                                                                 \
    "smlad r5, r9, " XB ", r5\n\t"

__attribute__((naked, noinline)) static const int8_t *dot2w(const int8_t *wp, const uint32_t *xs,
                                                            int32_t n, const int32_t *init,
                                                            int32_t *acc) {
    (void)wp, (void)xs, (void)n, (void)init, (void)acc; /* in r0-r3 and on the stack */
    __asm volatile(FC_DOT2_ASM(FC_CHUNK2W("r10", "r11"), FC_CHUNK2W("r10", "r11") FC_CHUNK2W("r12", "lr")));
}
#else
/* The same in C (host emulation and builds without the DSP extension), step by step as the
 * assembly: the host tests run this model of fc_rows4's arithmetic. */

/* Lane k of v clamped to lane k of [lo4, hi4] (SSUB8 / SEL). */
static inline uint32_t clamp4_s8(uint32_t v, uint32_t lo4, uint32_t hi4) {
    uint32_t r = 0;
    for (int k = 0; k < 4; ++k) {
        const int32_t b = (int8_t)((v >> (8 * k)) & 0xFFu);
        const int32_t lo = (int8_t)((lo4 >> (8 * k)) & 0xFFu);
        const int32_t hi = (int8_t)((hi4 >> (8 * k)) & 0xFFu);
        r |= ((uint32_t)en_clamp_i32(b, lo, hi) & 0xFFu) << (8 * k);
    }
    return r;
}

/* Row j's sum over one chunk of four rows at w (packed: 16 bytes; wide: 32). */
static inline int32_t chunk_row(int32_t a, const int8_t *w, int wide, int j, const uint32_t *xs) {
    if (wide) {
        a = smlad16(en_read_u32(w + 8 * j), xs[0], a);
        return smlad16(en_read_u32(w + 8 * j + 4), xs[1], a);
    }
    return mac4(a, en_read_u32(w + 4 * j), xs[0], xs[1]);
}

static int rows4_c(fc_run *r, int wide) {
    for (;;) {
        int32_t a[4] = {r->bias[0], r->bias[1], r->bias[2], r->bias[3]};
        const uint32_t *xs = r->xs;
        const int8_t *w = (const int8_t *)r->w;
        for (int32_t n = r->chunks; n > 0; --n, w += wide ? 32 : 16, xs += 2) {
            for (int j = 0; j < 4; ++j) {
                a[j] = chunk_row(a[j], w, wide, j, xs);
            }
        }
        r->w = w;
        int32_t s[4];
        uint32_t over = 0; /* QADD's saturation: 2 * a[j] changed sign */
        for (int j = 0; j < 4; ++j) {
            s[j] = (int32_t)((uint32_t)a[j] << 1);
            over |= (uint32_t)(s[j] ^ a[j]);
        }
        if (r->f.r == 0 || (over >> 31) != 0) {
            for (int j = 0; j < 4; ++j) {
                r->acc[j] = a[j];
            }
            return 1;
        }
        uint32_t v = 0;
        for (int j = 0; j < 4; ++j) {
            v |= fc_rq_fast(&r->f, a[j], s[j]) << (8 * j); /* BFI */
        }
        v = clamp4_s8(v, r->f.lo4, r->f.hi4);
        __builtin_memcpy(r->y, &v, 4);
        r->bias = (const int32_t *)(const void *)((const char *)r->bias + r->bstep);
        r->y += 4;
        if (--r->groups == 0) {
            return 0;
        }
    }
}

static int fc_rows4(fc_run *r) { return rows4_c(r, 0); }
static int fc_rows4w(fc_run *r) { return rows4_c(r, 1); }

static const int8_t *dot2(const int8_t *wp, const uint32_t *xs, int32_t n, const int32_t *init,
                          int32_t *acc) {
    int32_t a0 = init[0], a1 = init[1];
    for (; n > 0; --n, wp += 8, xs += 2) {
        a0 = mac4(a0, en_read_u32(wp), xs[0], xs[1]);
        a1 = mac4(a1, en_read_u32(wp + 4), xs[0], xs[1]);
    }
    acc[0] = a0;
    acc[1] = a1;
    return wp;
}

static const int8_t *dot2w(const int8_t *wp, const uint32_t *xs, int32_t n, const int32_t *init,
                           int32_t *acc) {
    int32_t a0 = init[0], a1 = init[1];
    for (; n > 0; --n, wp += 16, xs += 2) {
        a0 = smlad16(en_read_u32(wp + 4), xs[1], smlad16(en_read_u32(wp), xs[0], a0));
        a1 = smlad16(en_read_u32(wp + 12), xs[1], smlad16(en_read_u32(wp + 8), xs[0], a1));
    }
    acc[0] = a0;
    acc[1] = a1;
    return wp;
}
#endif

/* acc[0] = init[0] + the single row at wp times n >= 1 chunks; returns wp advanced past it.
 * Packed weights (dot1) and wide ones (dot1w). */
static const int8_t *__attribute__((noinline)) dot1(const int8_t *wp, const uint32_t *xs,
                                                    int32_t n, const int32_t *init, int32_t *acc) {
    int32_t a = init[0];
    for (; n > 0; --n, wp += 4, xs += 2) {
        a = mac4(a, en_read_u32(wp), xs[0], xs[1]);
    }
    acc[0] = a;
    return wp;
}

static const int8_t *__attribute__((noinline)) dot1w(const int8_t *wp, const uint32_t *xs,
                                                     int32_t n, const int32_t *init, int32_t *acc) {
    int32_t a = init[0];
    for (; n > 0; --n, wp += 8, xs += 2) {
        a = smlad16(en_read_u32(wp + 4), xs[1], smlad16(en_read_u32(wp), xs[0], a));
    }
    acc[0] = a;
    return wp;
}

/* acc[0..g) = init[0..g) + the g rows (2 or 1) of the group at wp times n >= 1 chunks; returns
 * wp advanced past them (dot2 / dot2w, dot1 / dot1w). */
typedef const int8_t *(*fc_dot_fn)(const int8_t *wp, const uint32_t *xs, int32_t n,
                                   const int32_t *init, int32_t *acc);

/* One layout's routines: its bytes per weight, its four-row runs, its groups of 2 and 1. */
typedef struct {
    int32_t esize;
    fc_rows_fn rows4;
    fc_dot_fn rows2, rows1;
} fc_layout;

static const fc_layout FC_PACKED = {1, fc_rows4, dot2, dot1};
static const fc_layout FC_WIDE = {2, fc_rows4w, dot2w, dot1w};

/* Every group of an input longer than FC_SLICE, sums only (f->r == 0 in the runs), each
 * requantised by fc_store: each group expands the input again, slice by slice. */
static void __attribute__((noinline))
groups_sliced(const en_requant *q, const fc_fast *f, const fc_layout *lay, const int8_t *x,
              int32_t in_features, const int8_t *wg, int32_t out_features, const int32_t *bias,
              uint32_t *xs, int8_t *y) {
    fc_run r; /* for groups of four: one group per run, f.r = 0 (sums only), in place in r.acc */
    r.xs = xs;
    r.bstep = 0;
    r.y = y;
    r.f.r = 0;
    for (int32_t o = 0, g; o < out_features; o += g) {
        g = en_fc_group_rows(out_features, o);
        for (int32_t j = 0; j < 4; ++j) {
            r.acc[j] = bias != NULL && j < g ? bias[o + j] : 0;
        }
        for (int32_t s = 0; s < in_features; s += FC_SLICE) {
            const int32_t len = in_features - s < FC_SLICE ? in_features - s : FC_SLICE;
            expand_input(x + s, len, xs);
            /* s / 4 chunks of 4 * g weights */
            const int8_t *wp = wg + (size_t)s * (size_t)g * (size_t)lay->esize;
            if (g == 4) {
                r.w = wp;
                r.chunks = (len + 3) / 4;
                r.bias = r.acc;
                r.groups = 1;
                (void)lay->rows4(&r);
            } else {
                (g == 2 ? lay->rows2 : lay->rows1)(wp, xs, (len + 3) / 4, r.acc, r.acc);
            }
        }
        wg += (size_t)g * en_fc_row_values(in_features) * (size_t)lay->esize;
        fc_store(q, f, o, g, r.acc, y);
    }
}

/* en_fc_packed_s8 / en_fc_wide_s8 after their checks. Inlined into each with its layout a
 * constant, so each calls its own routines directly and a build without wide layers drops them
 * (--gc-sections). */
static inline __attribute__((always_inline)) void fc_layer(const en_requant *q, int32_t batches, int32_t in_features, const int8_t *in,
                     int32_t out_features, const void *w, const int32_t *bias, int8_t *out,
                     const fc_layout *lay) {
    static const int32_t zero4[4] = {0, 0, 0, 0};
    uint32_t xs[FC_SLICE / 2];
    fc_run r;
    /* The fast form: per-tensor, -22 <= shift <= -1 (see fc_fast); else f.r = 0, and every
     * group of four stops its run to be requantised exactly. */
    r.f.r = 0;
    const int32_t shift = q->shift[0];
    if (!q->per_channel && en_rq_fold_ok(shift) && q->mult[0] >= 0) {
        r.f.mult = q->mult[0];
        r.f.r = -shift;
        r.f.k = en_rq_fold_k(2 * q->output_zp + 1, shift);
        r.f.lo4 = ((uint32_t)q->act_min & 0xFFu) * 0x01010101u;
        r.f.hi4 = ((uint32_t)q->act_max & 0xFFu) * 0x01010101u;
    }
    r.xs = xs;
    r.chunks = (in_features + 3) / 4;
    r.bstep = bias != NULL ? 16 : 0;
    const int32_t full = out_features & ~3;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * in_features;
        int8_t *y = out + (size_t)b * out_features;
        if (in_features > FC_SLICE) {
            groups_sliced(q, &r.f, lay, x, in_features, (const int8_t *)w, out_features, bias, xs,
                          y);
            continue;
        }
        expand_input(x, in_features, xs);
        /* The groups of four in runs, one requantised by fc_store wherever a run stops. */
        r.w = w;
        r.bias = bias != NULL ? bias : zero4;
        r.y = y;
        for (int32_t o = 0; o < full; o += 4) {
            r.groups = (full - o) / 4;
            if (!lay->rows4(&r)) {
                break;
            }
            o = (int32_t)(r.y - y);
            fc_store(q, &r.f, o, 4, r.acc, y);
            r.bias = (const int32_t *)(const void *)((const char *)r.bias + r.bstep);
            r.y += 4;
        }
        /* The group of 2 and / or 1 left over. */
        for (int32_t o = full, g; o < out_features; o += g) {
            g = en_fc_group_rows(out_features, o);
            r.w = (g == 2 ? lay->rows2 : lay->rows1)((const int8_t *)r.w, xs, r.chunks,
                                                     bias != NULL ? bias + o : zero4, r.acc);
            fc_store(q, &r.f, o, g, r.acc, y);
        }
    }
}

en_status en_fc_packed_s8(const en_requant *q, int32_t batches, int32_t in_features,
                          const int8_t *in, int32_t out_features, const int8_t *w,
                          const int32_t *bias, int8_t *out) {
    if (en_fc_packed_check_args(q, batches, in_features, in, out_features, w, bias, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    fc_layer(q, batches, in_features, in, out_features, w, bias, out, &FC_PACKED);
    return EN_OK;
}

en_status en_fc_wide_s8(const en_requant *q, int32_t batches, int32_t in_features,
                        const int8_t *in, int32_t out_features, const int16_t *w,
                        const int32_t *bias, int8_t *out) {
    if (en_fc_packed_check_args(q, batches, in_features, in, out_features,
                                (const int8_t *)(const void *)w, bias, out) != EN_OK) {
        return EN_ERR_ARG;
    }
    fc_layer(q, batches, in_features, in, out_features, w, bias, out, &FC_WIDE);
    return EN_OK;
}
