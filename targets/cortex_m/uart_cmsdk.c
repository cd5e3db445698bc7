/* Arm CMSDK APB UART (MPS2/MPS3 FPGA images, and QEMU's models of them).
 * Registers: DATA 0x00, STATE 0x04 (bit0 TX full, bit1 RX full), CTRL 0x08 (bit0 TX en,
 * bit1 RX en), BAUDDIV 0x10 (>= 16). */
#include <stdint.h>

#include "edgenas/port.h"
#include "kit.h"

#define UART_DATA (EN_UART_BASE + 0x00u)
#define UART_STATE (EN_UART_BASE + 0x04u)
#define UART_CTRL (EN_UART_BASE + 0x08u)
#define UART_BAUDDIV (EN_UART_BASE + 0x10u)

void en_uart_init(void)
{
    EN_REG32(UART_BAUDDIV) = EN_UART_CLOCK_HZ / EN_UART_BAUD;
    EN_REG32(UART_CTRL) = 0x3u;
}

void en_port_putc(uint8_t c)
{
    while (EN_REG32(UART_STATE) & 0x1u) {
    }
    EN_REG32(UART_DATA) = c;
}

int en_port_getc(uint32_t timeout_ms)
{
    const uint32_t start = en_port_cycles();
    const uint32_t limit = timeout_ms * (EN_COUNTER_HZ / 1000u);
    while (!(EN_REG32(UART_STATE) & 0x2u)) {
        if (timeout_ms != 0u && (uint32_t)(en_port_cycles() - start) > limit) {
            return -1;
        }
    }
    return (int)(EN_REG32(UART_DATA) & 0xFFu);
}
