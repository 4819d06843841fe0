/* A PIC main (all-PIC set) with a thread-local variable of default visibility: the message must
 * call it the main module, not a shared library. (Built with atomics and a shared memory, which
 * clang needs to keep `_Thread_local`.) */
_Thread_local int main_tls = 4;
int main(void) { return main_tls - 4; }
