/* Per-layer profiling for Linux runners: generated model code calls en_profile_begin() and
 * en_profile_mark(i) (runtime_c/include/edgenas/profile.h); we keep CLOCK_MONOTONIC stamps in
 * a fixed array and the runner turns them into per-layer nanoseconds after the inference, so no
 * formatting happens between layers. */
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>

#include "edgenas/profile.h"
#include "model.h"
#include "profile_clock.h"

#define EN_PROFILE_SLOTS (EN_MODEL_NUM_LAYERS > 0 ? EN_MODEL_NUM_LAYERS : 1)

static uint64_t en_prof_begin;
static uint64_t en_prof_marks[EN_PROFILE_SLOTS];
static uint8_t en_prof_seen[EN_PROFILE_SLOTS];

uint64_t en_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void en_profile_reset(void)
{
    for (uint32_t i = 0; i < EN_PROFILE_SLOTS; ++i) {
        en_prof_seen[i] = 0u;
    }
}

void en_profile_begin(void)
{
    en_prof_begin = en_clock_ns();
}

void en_profile_mark(uint32_t layer_done)
{
    const uint64_t now = en_clock_ns();
    if (layer_done < EN_PROFILE_SLOTS) {
        en_prof_marks[layer_done] = now;
        en_prof_seen[layer_done] = 1u;
    }
}

uint64_t en_profile_layer_ns(uint32_t layer)
{
    if (layer >= EN_PROFILE_SLOTS || !en_prof_seen[layer]) {
        return 0u;
    }
    uint64_t prev = en_prof_begin;
    for (uint32_t i = layer; i-- > 0;) {
        if (en_prof_seen[i]) {
            prev = en_prof_marks[i];
            break;
        }
    }
    return en_prof_marks[layer] - prev;
}
