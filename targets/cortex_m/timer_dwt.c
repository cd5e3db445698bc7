/* DWT CYCCNT: the core's own 32-bit cycle counter (Cortex-M3/M4/M7/M33/M55). */
#include <stdint.h>

#include "edgenas/port.h"
#include "kit.h"

#define DEMCR 0xE000EDFCu
#define DWT_CTRL 0xE0001000u
#define DWT_CYCCNT 0xE0001004u
#define DWT_LAR 0xE0001FB0u

void en_systick_handler(void);
void en_systick_handler(void)
{
}

void en_timer_init(void)
{
    EN_REG32(DEMCR) |= 1u << 24;      /* TRCENA: power the DWT */
    EN_REG32(DWT_LAR) = 0xC5ACCE55u;  /* unlock (needed on Cortex-M7, ignored elsewhere) */
    EN_REG32(DWT_CYCCNT) = 0u;
    EN_REG32(DWT_CTRL) |= 1u;         /* CYCCNTENA */
}

void en_timer_restart(void)
{
    EN_REG32(DWT_CYCCNT) = 0u;
}

uint32_t en_port_cycles(void)
{
    return EN_REG32(DWT_CYCCNT);
}

uint32_t en_port_counter_unit(void)
{
    return 0u;
}
