/* edgenas Linux runner: one generated model (model.c) on an application processor (a Raspberry
 * Pi, an Android phone's shell, or qemu-aarch64 on a PC).
 *
 *   en_runner INPUTS [--warmup N] [--repeats N] [--cpu K]
 *
 * INPUTS is a file of whole inputs (EN_MODEL_INPUT_BYTES each). Every input runs N warm-up
 * inferences (untimed) and then --repeats timed ones. Everything goes to stdout as text, one
 * record per line, so a transport that mangles binary data (a pty over adb or ssh) cannot
 * corrupt it:
 *
 *   EN hello model=NAME layers=L input_bytes=I output_bytes=O arena_bytes=A inputs=K ...
 *   EN run input=i rep=r total_ns=T layers_ns=t0,t1,...
 *   EN output input=i hex=...          (after the last repeat of input i)
 *   EN_DONE status=ok arena_touched_bytes=B
 *
 * Exit 0 ok; 2 bad arguments or input file; 3 the model failed; 4 it wrote outside its arena;
 * 5 the arena is not between its guards; 6 pinning to --cpu failed. A failure also prints
 * `EN_DONE status=error code=C reason=...`. Timing is CLOCK_MONOTONIC: real nanoseconds on a
 * real CPU, meaningless under an emulator. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "model.h"
#include "profile_clock.h"

static int fail(int code, const char *reason)
{
    printf("EN_DONE status=error code=%d reason=%s\n", code, reason);
    return code;
}

static int parse_count(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1000000) {
        return 0;
    }
    *out = v;
    return 1;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1u << 16, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf != NULL) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) {
            break;
        }
        unsigned char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    *size = len;
    return buf;
}

int main(int argc, char **argv)
{
    static int8_t out[EN_MODEL_OUTPUT_BYTES];
    long warmup = 1, repeats = 1, cpu = -1;
    const char *path = NULL;
    for (int i = 1; i < argc; ++i) {
        long *slot = strcmp(argv[i], "--warmup") == 0    ? &warmup
                     : strcmp(argv[i], "--repeats") == 0 ? &repeats
                     : strcmp(argv[i], "--cpu") == 0     ? &cpu
                                                         : NULL;
        if (slot != NULL) {
            if (i + 1 >= argc || !parse_count(argv[i + 1], slot)) {
                return fail(2, "bad_option_value");
            }
            ++i;
        } else if (path == NULL && argv[i][0] != '-') {
            path = argv[i];
        } else {
            return fail(2, "bad_argument");
        }
    }
    if (path == NULL || repeats < 1) {
        return fail(2, "usage:en_runner_INPUTS_[--warmup_N]_[--repeats_N>=1]_[--cpu_K]");
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            return fail(6, "sched_setaffinity_failed");
        }
    }
    if (en_arena_size_bytes() != (uint32_t)EN_ARENA_BYTES) {
        return fail(5, "arena_not_between_guards");
    }
    size_t size = 0;
    unsigned char *inputs = read_file(path, &size);
    if (inputs == NULL) {
        return fail(2, "cannot_read_inputs");
    }
    if (size == 0 || size % EN_MODEL_INPUT_BYTES != 0) {
        free(inputs);
        return fail(2, "input_file_not_a_whole_number_of_inputs");
    }
    const size_t count = size / EN_MODEL_INPUT_BYTES;
    printf("EN hello model=%s layers=%d input_bytes=%d output_bytes=%d arena_bytes=%d inputs=%lu warmup=%ld "
           "repeats=%ld cpu=%ld clock=monotonic\n",
           EN_MODEL_NAME, EN_MODEL_NUM_LAYERS, EN_MODEL_INPUT_BYTES, EN_MODEL_OUTPUT_BYTES, EN_ARENA_BYTES,
           (unsigned long)count, warmup, repeats, cpu);
    uint32_t touched = 0;
    for (size_t n = 0; n < count; ++n) {
        const int8_t *in = (const int8_t *)(inputs + n * EN_MODEL_INPUT_BYTES);
        for (long r = -warmup; r < repeats; ++r) {
            en_arena_prepare();
            en_profile_reset();
            const uint64_t t0 = en_clock_ns();
            const int st = en_model_invoke(in, out);
            const uint64_t t1 = en_clock_ns();
            /* Guards before the status: after an overrun nothing the model says can be trusted. */
            if (en_arena_overrun_above() != 0u || en_arena_overrun_below() != 0u) {
                free(inputs);
                return fail(4, en_arena_overrun_above() != 0u ? "arena_overrun_above" : "arena_overrun_below");
            }
            if (st != 0) {
                free(inputs);
                return fail(3, "en_model_invoke_failed");
            }
            const uint32_t t = en_arena_touched_bytes();
            touched = t > touched ? t : touched;
            if (r < 0) {
                continue;
            }
            printf("EN run input=%lu rep=%ld total_ns=%llu layers_ns=", (unsigned long)n, r,
                   (unsigned long long)(t1 - t0));
            for (uint32_t l = 0; l < (uint32_t)EN_MODEL_NUM_LAYERS; ++l) {
                printf(l ? ",%llu" : "%llu", (unsigned long long)en_profile_layer_ns(l));
            }
            printf("\n");
        }
        printf("EN output input=%lu hex=", (unsigned long)n);
        for (size_t i = 0; i < sizeof out; ++i) {
            printf("%02x", (unsigned)(uint8_t)out[i]);
        }
        printf("\n");
    }
    free(inputs);
    printf("EN_DONE status=ok arena_touched_bytes=%lu\n", (unsigned long)touched);
    return 0;
}
