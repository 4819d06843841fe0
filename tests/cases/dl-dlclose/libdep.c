#include <stdio.h>
static int calls;
__attribute__((constructor)) static void init(void) { printf("libdep: constructor (calls = %d)\n", calls); }
void __wasm_call_dtors(void) { printf("libdep: __wasm_call_dtors\n"); }
int dep_count(void) { return ++calls; }
