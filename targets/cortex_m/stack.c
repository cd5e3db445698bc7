/* Stack high-water measurement by painting.
 *
 * Before an inference the harness fills the free part of the stack reserve with a pattern; after
 * it, the lowest overwritten word gives the peak depth. Depth counts every frame from reset
 * (harness + model + kernels), which is what the RAM budget must cover.
 */
#include <stdint.h>

#include "kit.h"

#define EN_STACK_PAINT 0xC5A5C5A5u

__attribute__((noinline)) void en_stack_paint(void)
{
    /* Stop a little below our own frame so painting never overwrites live data. */
    uint32_t *limit = (uint32_t *)__builtin_frame_address(0) - 16;
    for (uint32_t *p = &__stack_limit; p < limit; ++p) {
        *p = EN_STACK_PAINT;
    }
}

uint32_t en_stack_high_water_bytes(void)
{
    const uint32_t *p = &__stack_limit;
    while (p < &__stack_top && *p == EN_STACK_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}
