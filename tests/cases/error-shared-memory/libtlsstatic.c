/* Thread-local storage that is not exported: no TLS flag, but the shared memory it needs. */
static _Thread_local int calls;
int count_call(void) { return ++calls; }
