/* Clock and per-layer timings of the Linux runner (profile_clock.c). */
#ifndef EN_PROFILE_CLOCK_H
#define EN_PROFILE_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t en_clock_ns(void);

/* Forget the marks of the previous inference. */
void en_profile_reset(void);

/* Nanoseconds layer `layer` took in the last inference (0 if it was not marked). */
uint64_t en_profile_layer_ns(uint32_t layer);

#endif /* EN_PROFILE_CLOCK_H */
