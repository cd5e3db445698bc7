/* Reset and exception entry for Cortex-M (v6-M, v7-M, v8-M mainline).
 *
 * The reset handler enables the FPU (before any compiler-generated FP instruction can run),
 * copies .data from flash, zeroes .bss and calls main(). Faults park the core in a loop the
 * host notices as a timeout; there is nothing useful to report over a UART we may have broken.
 */
#include <stdint.h>

#include "kit.h"

int main(void);
void en_reset_handler(void);
void en_systick_handler(void);

static void en_fault_handler(void)
{
    for (;;) {
    }
}

#define SCB_CPACR 0xE000ED88u
#define SCB_VTOR 0xE000ED08u

__attribute__((naked, noreturn)) void en_reset_handler(void)
{
    /* Set SP explicitly: a debugger or bootloader may enter here with another stack. */
    __asm volatile("ldr r0, =__stack_top\n"
                   "mov sp, r0\n"
                   "b en_reset_c\n");
}

__attribute__((used, noreturn)) void en_reset_c(void);
__attribute__((used, noreturn)) void en_reset_c(void)
{
#if EN_HAS_FPU
    /* CP10/CP11 full access (also covers MVE on v8.1-M). */
    EN_REG32(SCB_CPACR) |= (0xFu << 20);
    __asm volatile("dsb\nisb" ::: "memory");
#endif
    const uint32_t *src = &__data_load;
    for (uint32_t *dst = &__data_start; dst < &__data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;) {
        *dst++ = 0u;
    }
    (void)main();
    for (;;) {
    }
}

typedef void (*en_vector)(void);

/* Only the 16 system exceptions: the kit uses no peripheral interrupts. */
__attribute__((section(".vectors"), used)) static const en_vector en_vectors[16] = {
    (en_vector)(uintptr_t)&__stack_top,
    en_reset_handler,
    en_fault_handler, /* NMI */
    en_fault_handler, /* HardFault */
    en_fault_handler, /* MemManage */
    en_fault_handler, /* BusFault */
    en_fault_handler, /* UsageFault */
    en_fault_handler, /* SecureFault (v8-M) */
    0,
    0,
    0,
    en_fault_handler, /* SVCall */
    en_fault_handler, /* DebugMonitor */
    0,
    en_fault_handler, /* PendSV */
    en_systick_handler,
};
