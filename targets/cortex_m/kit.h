/* Internal interface of the Cortex-M target kit (not part of the runtime API).
 *
 * board_config.h is generated per board by edgenas/targets/cortex_m/build.py: UART base and
 * divider inputs, counter clock, FPU presence, STM32 clock-enable bits and pin muxes.
 */
#ifndef EN_KIT_H
#define EN_KIT_H

#include <stdint.h>

#include "board_config.h"

#define EN_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* Linker symbols (linker.ld.in). */
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern uint32_t __stack_limit, __stack_top;

void en_uart_init(void);
void en_timer_init(void);
/* Restart the counter at 0 right before an inference, so that under QEMU -icount the tick
 * boundaries fall at the same instructions on every run (per-layer counts become exact repeats). */
void en_timer_restart(void);

/* Stack high-water: paint the unused part of the stack, then later find the deepest touched word. */
void en_stack_paint(void);
uint32_t en_stack_high_water_bytes(void);

/* Per-layer marks recorded by profile.c: `count` filled entries of absolute counter values. */
void en_profile_reset(void);
uint32_t en_profile_layer_count(uint32_t layer, uint32_t *out_count);

/* zlib-compatible CRC-32 (poly 0xEDB88320 reflected, init and final xor 0xFFFFFFFF). */
uint32_t en_crc32_update(uint32_t crc, const uint8_t *data, uint32_t len);
#define EN_CRC32_INIT 0xFFFFFFFFu
#define EN_CRC32_FINAL(c) ((c) ^ 0xFFFFFFFFu)

#endif /* EN_KIT_H */
