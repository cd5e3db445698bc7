/* en_port_init(): bring up the counter first (UART timeouts use it), then the UART. */
#include "edgenas/port.h"
#include "kit.h"

void en_port_init(void)
{
    en_timer_init();
    en_uart_init();
}
