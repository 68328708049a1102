/* bench/noop.c: the floor of a client command: a static program that does
 * nothing at all, not even libc start-up (just the exit system call). */
#if defined(__x86_64__) && defined(NOOP_BARE)
void _start(void)
{
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
    for (;;) {
    }
}
#else
int main(void) { return 0; }
#endif
