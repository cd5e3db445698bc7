/* edgenas port interface: what a target kit (targets/<kit>/) implements, and nothing more.
 *
 * The runtime kernels never call these; the on-device harness and the profiler do.
 */
#ifndef EDGENAS_PORT_H
#define EDGENAS_PORT_H

#include <stdint.h>

/** Initialise clocks, UART and the cycle/tick counter. Called once from the harness. */
void en_port_init(void);

/** Blocking write of one byte to the host link (UART). */
void en_port_putc(uint8_t c);

/** Blocking read of one byte from the host link; returns -1 after `timeout_ms` without data
 *  (timeout_ms == 0 waits forever). */
int en_port_getc(uint32_t timeout_ms);

/** Free-running counter: CPU cycles on real cores (DWT CYCCNT), or SysTick ticks under QEMU
 *  -icount (a fixed number of instructions per tick; see en_port_counter_unit()). Wraps at 2^32. */
uint32_t en_port_cycles(void);

/** Which unit en_port_cycles() counts: 0 = cycles, 1 = emulated instructions. */
uint32_t en_port_counter_unit(void);

#endif /* EDGENAS_PORT_H */
