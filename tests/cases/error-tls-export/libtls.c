/* A thread-local variable with default visibility: wasm-ld marks its export TLS in EXPORT_INFO.
 * (Built with atomics and a shared memory, which clang needs to keep `_Thread_local`.) */
_Thread_local int tls_counter = 4;
int tls_next(void) { return ++tls_counter; }
