/* Bare-metal start for the C test under QEMU: vector table, .data/.bss,
 * FPU on, newlib's semihosting stdio, then main(); its return value becomes
 * QEMU's exit status. Faults end the run with a failure instead of hanging. */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int main(void);
extern void initialise_monitor_handles(void);
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;

/* SYS_EXIT with ADP_Stopped_ApplicationExit (status 0) or
   ADP_Stopped_RunTimeErrorUnknown (status 1). */
static void __attribute__((noreturn)) semihosting_exit(int failed) {
    register uint32_t op __asm__("r0") = 0x18;
    register uint32_t reason __asm__("r1") = failed ? 0x20023 : 0x20026;
    __asm__ volatile("bkpt 0xab" : : "r"(op), "r"(reason) : "memory");
    for (;;) {
    }
}

static void fault_handler(void) {
    static const char message[] = "fault: the C test crashed\n";
    register uint32_t op __asm__("r0") = 0x04; /* SYS_WRITE0 */
    register const char *text __asm__("r1") = message;
    __asm__ volatile("bkpt 0xab" : : "r"(op), "r"(text) : "memory");
    semihosting_exit(1);
}

void reset_handler(void) {
    memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
    memset(&__bss_start, 0, (size_t)((char *)&__bss_end - (char *)&__bss_start));
    /* CPACR: full access to CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n isb");
    initialise_monitor_handles();
    int status = main();
    fflush(stdout);
    semihosting_exit(status != 0);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, reset_handler, fault_handler, fault_handler,
    fault_handler,                fault_handler, fault_handler, 0,
    0,                            0,             0,             fault_handler,
    fault_handler,                0,             fault_handler, fault_handler,
};
