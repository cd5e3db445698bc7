/* Arena guards and paint (arena.c): shared by the firmware harness (main.c) and the host build's
 * driver (edgenas/deploy/host_build.py), so it depends on nothing but the linker symbols. */
#ifndef EN_ARENA_H
#define EN_ARENA_H

#include <stdint.h>

/* Paint the arena and write both guard regions; call before every inference. */
void en_arena_prepare(void);

/* Size of the arena the linker placed between the guards (0: no .bss.en_arena section). */
uint32_t en_arena_size_bytes(void);

/* How far an overrun reached into the guard above (below) the arena: 1 = the byte right next to
 * the arena changed, 0 = that guard is intact. Writes beyond the guard are not seen. */
uint32_t en_arena_overrun_above(void);
uint32_t en_arena_overrun_below(void);

/* Bytes from the arena start to the highest byte that no longer holds the paint: the arena
 * this inference really used. A last byte written with the paint value itself is not counted,
 * so this can fall short of the truth by the few bytes that happen to equal 0xA5. */
uint32_t en_arena_touched_bytes(void);

#endif /* EN_ARENA_H */
