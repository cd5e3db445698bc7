/* STM32 F7/H7 USART (the "v2" register layout shared by F0/F3/F7/L4/H7):
 * CR1 0x00 (UE bit0, RE bit2, TE bit3), BRR 0x0C, ISR 0x1C (RXNE bit5, TXE bit7, ORE bit3),
 * ICR 0x20, RDR 0x24, TDR 0x28. Pins and clock enables come from the board profile. */
#include <stdint.h>

#include "edgenas/port.h"
#include "kit.h"

#define USART_CR1 (EN_UART_BASE + 0x00u)
#define USART_BRR (EN_UART_BASE + 0x0Cu)
#define USART_ISR (EN_UART_BASE + 0x1Cu)
#define USART_ICR (EN_UART_BASE + 0x20u)
#define USART_RDR (EN_UART_BASE + 0x24u)
#define USART_TDR (EN_UART_BASE + 0x28u)

#define GPIO_MODER(g) ((g) + 0x00u)
#define GPIO_AFR(g, pin) ((g) + 0x20u + 4u * ((pin) >> 3))

typedef struct {
    uint32_t reg, bit;
} en_clock_bit;
typedef struct {
    uint32_t gpio, pin, af;
} en_pin_mux;

static const en_clock_bit en_clock_bits[] = EN_UART_CLOCK_ENABLES;
static const en_pin_mux en_pins[] = EN_UART_PINS;

void en_uart_init(void)
{
    for (uint32_t i = 0; i < sizeof(en_clock_bits) / sizeof(en_clock_bits[0]); ++i) {
        EN_REG32(en_clock_bits[i].reg) |= 1u << en_clock_bits[i].bit;
        (void)EN_REG32(en_clock_bits[i].reg); /* read back: the clock must be running before use */
    }
    for (uint32_t i = 0; i < sizeof(en_pins) / sizeof(en_pins[0]); ++i) {
        const en_pin_mux *p = &en_pins[i];
        const uint32_t af_shift = 4u * (p->pin & 7u);
        EN_REG32(GPIO_AFR(p->gpio, p->pin)) = (EN_REG32(GPIO_AFR(p->gpio, p->pin)) & ~(0xFu << af_shift)) |
                                              (p->af << af_shift);
        EN_REG32(GPIO_MODER(p->gpio)) = (EN_REG32(GPIO_MODER(p->gpio)) & ~(3u << (2u * p->pin))) |
                                        (2u << (2u * p->pin));
    }
    EN_REG32(USART_CR1) = 0u;
    /* Oversampling by 16: BRR = f_ck / baud, rounded to nearest. */
    EN_REG32(USART_BRR) = (EN_UART_CLOCK_HZ + EN_UART_BAUD / 2u) / EN_UART_BAUD;
    EN_REG32(USART_CR1) = (1u << 3) | (1u << 2) | 1u;
}

void en_port_putc(uint8_t c)
{
    while (!(EN_REG32(USART_ISR) & (1u << 7))) {
    }
    EN_REG32(USART_TDR) = c;
}

int en_port_getc(uint32_t timeout_ms)
{
    const uint32_t start = en_port_cycles();
    const uint32_t limit = timeout_ms * (EN_COUNTER_HZ / 1000u);
    for (;;) {
        const uint32_t isr = EN_REG32(USART_ISR);
        if (isr & (1u << 5)) {
            return (int)(EN_REG32(USART_RDR) & 0xFFu);
        }
        if (isr & (1u << 3)) {
            EN_REG32(USART_ICR) = 1u << 3; /* overrun: clear it, the CRC will catch the lost byte */
        }
        if (timeout_ms != 0u && (uint32_t)(en_port_cycles() - start) > limit) {
            return -1;
        }
    }
}
