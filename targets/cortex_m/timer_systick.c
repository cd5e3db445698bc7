/* SysTick as a free-running 32-bit counter, for QEMU (which has no DWT cycle counter).
 *
 * SysTick is a 24-bit down-counter on the core clock; its interrupt counts wraps so that
 * en_port_cycles() = wraps * 2^24 + elapsed. Under `qemu -icount shift=0` one instruction is
 * one ns of virtual time, so one tick = 1e9 / EN_COUNTER_HZ instructions (the host scales). */
#include <stdint.h>

#include "edgenas/port.h"
#include "kit.h"

#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SCB_ICSR 0xE000ED04u
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSTCLR (1u << 25)

static volatile uint32_t en_systick_wraps;

void en_systick_handler(void);
void en_systick_handler(void)
{
    en_systick_wraps = en_systick_wraps + 1u;
}

void en_timer_init(void)
{
    EN_REG32(SYST_RVR) = 0x00FFFFFFu;
    EN_REG32(SYST_CVR) = 0u;
    EN_REG32(SYST_CSR) = 0x7u; /* core clock, interrupt on wrap, enable */
}

void en_timer_restart(void)
{
    EN_REG32(SYST_CSR) = 0x0u;
    EN_REG32(SCB_ICSR) = ICSR_PENDSTCLR;
    en_systick_wraps = 0u;
    EN_REG32(SYST_CVR) = 0u; /* any write clears the current value... */
    EN_REG32(SYST_CSR) = 0x7u;
    while (EN_REG32(SYST_CVR) == 0u) {
        /* ...and the next tick reloads it: wait (at most one tick) so counting starts at 0 */
    }
}

uint32_t en_port_cycles(void)
{
    uint32_t hi, cv;
    /* Retry if a wrap happened while reading, or one is pending but not yet counted. */
    do {
        hi = en_systick_wraps;
        cv = EN_REG32(SYST_CVR);
    } while (hi != en_systick_wraps || (EN_REG32(SCB_ICSR) & ICSR_PENDSTSET));
    return (hi << 24) + (0x00FFFFFFu - cv);
}

uint32_t en_port_counter_unit(void)
{
    return 1u;
}
