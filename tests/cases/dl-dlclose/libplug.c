#include <stdio.h>
int dep_count(void);
static int state = 0;
__attribute__((constructor)) static void init(void) { printf("libplug: constructor (state = %d)\n", state); }
/* An exported __wasm_call_dtors is what dlclose runs. */
void __wasm_call_dtors(void) { printf("libplug: __wasm_call_dtors (state = %d)\n", state); }
/* clang registers this one with __cxa_atexit: it runs at the dlclose that unloads the library,
 * and at exit for a library still loaded then (the NODELETE one below), as on Linux. */
__attribute__((destructor)) static void fini(void) { printf("libplug: destructor (state = %d)\n", state); }
int plug_bump(void) { dep_count(); return ++state; }
