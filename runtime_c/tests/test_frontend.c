/* Unit tests of the fixed-point keyword front end (runtime_c/frontend): hand-worked FFT and log2
 * cases, silence, the frame/clip relation, and failure cases. Bit-exactness against the Python
 * reference on synthesised clips is tests/audio/test_frontend_c.py. Each test prints
 * "EN_TEST <name> PASS" (or FAIL); the exit code is the number of failures.
 * Host build: make -C runtime_c test-frontend (ASan + UBSan).
 */
#include <stdio.h>
#include <string.h>

#include "edgenas/frontend.h"
#include "frontend_tables.h"

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

static void run(const char *name, void (*fn)(void)) {
    g_current_ok = 1;
    fn();
    printf("EN_TEST %s %s\n", name, g_current_ok ? "PASS" : "FAIL");
    g_failures += !g_current_ok;
}

static int32_t g_buf[EN_FE_SCRATCH_WORDS];

static void test_log2(void) {
    CHECK(en_fe_log2_q16(0) == 0);                  /* below 1 counts as 1 */
    CHECK(en_fe_log2_q16(1) == 0);
    CHECK(en_fe_log2_q16(2) == 65536);              /* powers of two are exact */
    CHECK(en_fe_log2_q16((int64_t)1 << 40) == 40 * 65536);
    CHECK(en_fe_log2_q16(3) == 103872);             /* log2(3) = 1.5849625 -> 103872.2 */
    CHECK(en_fe_log2_q16(1000) == 653118);          /* log2(1000) = 9.9657843 -> 653117.5 */
    CHECK(en_fe_log2_q16(((int64_t)1 << 62) + 1) == 62 * 65536);
}

/* An impulse x[0] = 1000 has a flat spectrum: 2X[k] = 2000 for every k, imaginary parts 0. */
static void test_fft_impulse(void) {
    memset(g_buf, 0, sizeof g_buf);
    g_buf[0] = 1000;
    en_fe_rfft_q(g_buf);
    for (int k = 0; k < EN_FE_SPECTRUM_BINS; ++k) {
        CHECK(g_buf[2 * k] == 2000);
        CHECK(g_buf[2 * k + 1] == 0);
    }
}

/* A constant c = 100 on all 512 samples: 2X[0] = 2 * 512 * 100 = 102400 and nothing else, but the
 * Q15 twiddle 1.0 is 32767/32768: bin 0 is Ze[0] + W^0 Zo[0] = 51200 + 51200 * 32767 / 32768
 * = 51200 + 51198 (51198.4 rounded) = 102398. */
static void test_fft_dc(void) {
    for (int n = 0; n < EN_FE_FFT_SIZE; ++n) {
        g_buf[n] = 100;
    }
    en_fe_rfft_q(g_buf);
    CHECK(g_buf[0] == 102398);
    CHECK(g_buf[1] == 0);
    for (int k = 1; k < EN_FE_SPECTRUM_BINS; ++k) {
        CHECK(g_buf[2 * k] == 0 && g_buf[2 * k + 1] == 0);
    }
}

/* A cosine at bin 16, amplitude 8192 (from the Q15 cos table, so 8192 * cos[16*n mod 512] / 32767
 * needs no float here): 2X[16] = 2 * 256 * 8192 = 4194304 up to the Q15 twiddles' ~1e-4 loss;
 * bin 0 holds the table-rounded cosine's small DC (2 * sum x = 256), and every bin but 16 is
 * within 200 of its true value. */
static void test_fft_cosine(void) {
    int32_t sum = 0;
    for (int n = 0; n < EN_FE_FFT_SIZE; ++n) {
        int idx = (16 * n) % EN_FE_FFT_SIZE; /* cos(2 pi idx / 512) from the table's symmetry */
        const int32_t c = idx < 256 ? en_fe_cos[idx] : -en_fe_cos[idx - 256];
        g_buf[n] = (c * 8192 + (1 << 14)) >> 15;
        sum += g_buf[n];
    }
    en_fe_rfft_q(g_buf);
    CHECK(g_buf[0] - 2 * sum > -200 && g_buf[0] - 2 * sum < 200);
    CHECK(g_buf[32] > 4190000 && g_buf[32] < 4195000);
    for (int k = 0; k < EN_FE_SPECTRUM_BINS; ++k) {
        if (k != 0 && k != 16) {
            CHECK(g_buf[2 * k] > -200 && g_buf[2 * k] < 200);
        }
        CHECK(g_buf[2 * k + 1] > -200 && g_buf[2 * k + 1] < 200);
    }
}

static void test_silence_is_zero(void) {
    static int16_t audio[16000];
    static uint8_t out[49 * EN_FE_MEL_BINS];
    memset(audio, 0, sizeof audio);
    memset(out, 0xAA, sizeof out);
    CHECK(EN_FE_FRAMES(16000) == 49);
    CHECK(en_frontend_u8(audio, 16000, out, 49, g_buf) == EN_OK);
    for (int i = 0; i < 49 * EN_FE_MEL_BINS; ++i) {
        CHECK(out[i] == 0);
    }
}

/* A clip is its frames: en_frontend_u8 equals en_frontend_frame_u8 at every hop, and a loud
 * full-scale chirp-like signal lands inside 1..255 somewhere (the map does not saturate to 0). */
static void test_clip_is_frames(void) {
    static int16_t audio[2000];
    uint32_t seed = 1;
    for (int i = 0; i < 2000; ++i) {
        seed = seed * 1664525u + 1013904223u;
        audio[i] = (int16_t)(seed >> 16);
    }
    const int32_t frames = EN_FE_FRAMES(2000); /* (2000 - 480) / 320 + 1 = 5 */
    uint8_t clip[5 * EN_FE_MEL_BINS], one[EN_FE_MEL_BINS];
    CHECK(frames == 5);
    CHECK(en_frontend_u8(audio, 2000, clip, frames, g_buf) == EN_OK);
    int nonzero = 0;
    for (int f = 0; f < frames; ++f) {
        CHECK(en_frontend_frame_u8(&audio[f * EN_FE_HOP_SAMPLES], one, g_buf) == EN_OK);
        CHECK(memcmp(one, &clip[f * EN_FE_MEL_BINS], EN_FE_MEL_BINS) == 0);
        for (int j = 0; j < EN_FE_MEL_BINS; ++j) {
            nonzero += one[j] > 0;
        }
    }
    CHECK(nonzero == frames * EN_FE_MEL_BINS);
}

static void test_failures(void) {
    static int16_t audio[EN_FE_FRAME_SAMPLES];
    uint8_t out[2 * EN_FE_MEL_BINS];
    memset(audio, 0, sizeof audio);
    memset(out, 0x55, sizeof out);
    CHECK(en_frontend_u8(audio, EN_FE_FRAME_SAMPLES - 1, out, 2, g_buf) == EN_ERR_ARG); /* < 1 frame */
    CHECK(en_frontend_u8(audio, EN_FE_FRAME_SAMPLES, out, 0, g_buf) == EN_ERR_ARG);     /* no room */
    CHECK(en_frontend_u8(NULL, EN_FE_FRAME_SAMPLES, out, 1, g_buf) == EN_ERR_ARG);
    CHECK(en_frontend_u8(audio, EN_FE_FRAME_SAMPLES, out, 1, NULL) == EN_ERR_ARG);
    CHECK(en_frontend_frame_u8(audio, NULL, g_buf) == EN_ERR_ARG);
    for (int i = 0; i < 2 * EN_FE_MEL_BINS; ++i) {
        CHECK(out[i] == 0x55); /* untouched */
    }
}

int main(void) {
    run("fe_log2", test_log2);
    run("fe_fft_impulse", test_fft_impulse);
    run("fe_fft_dc", test_fft_dc);
    run("fe_fft_cosine", test_fft_cosine);
    run("fe_silence_is_zero", test_silence_is_zero);
    run("fe_clip_is_frames", test_clip_is_frames);
    run("fe_failures", test_failures);
    printf("EN_TEST_SUMMARY failures=%d\n", g_failures);
    return g_failures;
}
