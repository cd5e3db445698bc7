/* Test fixture implementing the model.h contract with real integer work, so the harness,
 * the link and the profiler can be checked against a Python reference
 * (edgenas/targets/cortex_m/testmodel.py). Five marked "layers":
 *   0 scale:  a[i] = sat8((x[i] * 3 + 7) >> 1)
 *   1 mix:    b[i] = sat8(a[i] + a[(7 * i + 3) & 255])
 *   2 dense:  acc[j] = bias[j] + sum_i b[i] * w[j][i]        (16 x 256, int32; |acc| < 2^23)
 *   3 spin:   EN_TESTMODEL_SPIN iterations of a 2-instruction loop (calibrates the counter)
 *   4 requant: y[j] = sat8((acc[j] + 64) >> 7)
 * Build-time knobs for tests: EN_TESTMODEL_PAD_BYTES adds that many weight bytes (flash),
 * EN_TESTMODEL_ARENA_EXTRA grows the arena (RAM), EN_TESTMODEL_OVERRUN = k writes one byte k
 * bytes past the arena's end (k > 0) or -k bytes before its start (k < 0), as a broken model
 * would (the harness's arena guards must catch it). */
#include <stdint.h>

#include "edgenas/profile.h"
#include "model.h"
#include "weights.h"

#ifndef EN_TESTMODEL_SPIN
#define EN_TESTMODEL_SPIN 10000
#endif
#ifndef EN_TESTMODEL_ARENA_EXTRA
#define EN_TESTMODEL_ARENA_EXTRA 0
#endif

static uint8_t en_arena[1024 + EN_TESTMODEL_ARENA_EXTRA] __attribute__((aligned(16)));

#ifdef EN_TESTMODEL_PAD_BYTES
static const int8_t en_w_pad[EN_TESTMODEL_PAD_BYTES] = {1};
#endif

static int8_t sat8(int32_t v)
{
    return (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
}

static void spin(uint32_t n)
{
    if (n == 0u) {
        return;
    }
    __asm volatile("1: subs %0, %0, #1\n"
                   "   bne 1b\n"
                   : "+l"(n)
                   :
                   : "cc");
}

int en_model_invoke(const int8_t *in, int8_t *out)
{
    int8_t *a = (int8_t *)en_arena;
    int8_t *b = (int8_t *)en_arena + 256;
    int32_t *acc = (int32_t *)(void *)(en_arena + 512);

    en_profile_begin();
    for (int32_t i = 0; i < 256; ++i) {
        a[i] = sat8((in[i] * 3 + 7) >> 1);
    }
    en_profile_mark(0);
    for (int32_t i = 0; i < 256; ++i) {
        b[i] = sat8(a[i] + a[(7 * i + 3) & 255]);
    }
    en_profile_mark(1);
    for (int32_t j = 0; j < 16; ++j) {
        int32_t s = en_w_bias[j];
        for (int32_t i = 0; i < 256; ++i) {
            s += b[i] * en_w_dense[j * 256 + i];
        }
        acc[j] = s;
    }
    en_profile_mark(2);
    spin(EN_TESTMODEL_SPIN);
    en_profile_mark(3);
    for (int32_t j = 0; j < 16; ++j) {
        out[j] = sat8((acc[j] + 64) >> 7);
    }
#ifdef EN_TESTMODEL_PAD_BYTES
    {
        /* Input-dependent index: the compiler cannot fold the read, so the pad stays linked. */
        volatile int8_t sink = en_w_pad[(uint32_t)(uint8_t)in[0] % (uint32_t)EN_TESTMODEL_PAD_BYTES];
        (void)sink;
    }
#endif
    en_profile_mark(4);
#ifdef EN_TESTMODEL_OVERRUN
    {
        /* Through an integer, so the compiler cannot see (and warn about) the stray address. */
#if EN_TESTMODEL_OVERRUN > 0
        const uintptr_t at = (uintptr_t)en_arena + sizeof en_arena + (uintptr_t)(EN_TESTMODEL_OVERRUN - 1);
#else
        const uintptr_t at = (uintptr_t)en_arena - (uintptr_t)(-(EN_TESTMODEL_OVERRUN));
#endif
        *(volatile uint8_t *)at = 0x42u;
    }
#endif
    return 0;
}
