/* Guard regions around the model arena, and arena painting.
 *
 * The linker script (linker.ld.in for firmware; host_build.py's for the host build) places the
 * arena's input section, .bss.en_arena, between two guard regions:
 *   [__en_arena_guard_lo, __en_arena_start)   guard below
 *   [__en_arena_start,    __en_arena_end)     en_arena
 *   [__en_arena_end,      __en_arena_guard_hi) guard above
 * Only the linker can do this: C places separate objects in any order, and a guard inside a
 * struct with the arena would change the en_arena symbol the memory accounting reads.
 *
 * Before an inference the guards get a fixed pattern and the arena the paint byte. After it, a
 * changed guard byte means a kernel wrote outside the arena (the run must fail: what lies past
 * the arena, e.g. the stack paint, may be corrupt), and the highest unpainted arena byte gives
 * the arena actually used, as the stack paint does for the stack.
 */
#include <stddef.h>
#include <string.h>

#include "arena.h"

extern uint8_t __en_arena_guard_lo[], __en_arena_start[], __en_arena_end[], __en_arena_guard_hi[];

#define EN_ARENA_PAINT 0xA5u

/* Guard byte i: all 16 values differ (0x65 is odd), so an overrun that writes one constant
 * value over two or more guard bytes always shows. */
#define EN_GUARD_BYTE(i) ((uint8_t)(0x3Cu + 0x65u * (uint32_t)(i)))

/* Addresses as integers: the regions are separate symbols to the compiler, and walking from one
 * into the next through a pointer is what -Warray-bounds (rightly, for C objects) rejects. */
static uintptr_t addr(const uint8_t *p)
{
    return (uintptr_t)p;
}

static volatile uint8_t *byte_at(uintptr_t a)
{
    return (volatile uint8_t *)a;
}

uint32_t en_arena_size_bytes(void)
{
    return (uint32_t)(addr(__en_arena_end) - addr(__en_arena_start));
}

void en_arena_prepare(void)
{
    const uintptr_t lo = addr(__en_arena_guard_lo), start = addr(__en_arena_start);
    const uintptr_t end = addr(__en_arena_end), hi = addr(__en_arena_guard_hi);
    for (uintptr_t a = lo; a < start; ++a) {
        *byte_at(a) = EN_GUARD_BYTE(start - 1u - a); /* numbered outwards from the arena edge */
    }
    memset((void *)start, (int)EN_ARENA_PAINT, (size_t)(end - start));
    for (uintptr_t a = end; a < hi; ++a) {
        *byte_at(a) = EN_GUARD_BYTE(a - end);
    }
}

uint32_t en_arena_overrun_above(void)
{
    const uintptr_t end = addr(__en_arena_end);
    uint32_t reach = 0u;
    for (uintptr_t a = end; a < addr(__en_arena_guard_hi); ++a) {
        if (*byte_at(a) != EN_GUARD_BYTE(a - end)) {
            reach = (uint32_t)(a - end) + 1u;
        }
    }
    return reach;
}

uint32_t en_arena_overrun_below(void)
{
    const uintptr_t start = addr(__en_arena_start);
    uint32_t reach = 0u;
    for (uintptr_t a = addr(__en_arena_guard_lo); a < start; ++a) {
        const uint32_t dist = (uint32_t)(start - a);
        if (*byte_at(a) != EN_GUARD_BYTE(dist - 1u) && dist > reach) {
            reach = dist;
        }
    }
    return reach;
}

uint32_t en_arena_touched_bytes(void)
{
    const uintptr_t start = addr(__en_arena_start);
    uintptr_t a = addr(__en_arena_end);
    while (a > start && *byte_at(a - 1u) == EN_ARENA_PAINT) {
        --a;
    }
    return (uint32_t)(a - start);
}
