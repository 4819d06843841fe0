/* A library whose constructor entry point is `_initialize`, not `__wasm_call_ctors`: linked with
 * `--entry _initialize` (see lib-flags; what `clang -shared -mexec-model=reactor` passes, with
 * wasi-libc's crt1-reactor.o defining `_initialize`), wasm-ld does not export
 * `__wasm_call_ctors`; `_initialize` calls it, as crt1-reactor.o does. */
#include <stdio.h>
extern void __wasm_call_ctors(void);
static int state;
__attribute__((constructor)) static void ctor(void) {
  state = state * 10 + 1;
  printf("constructor\n");
}
void _initialize(void) {
  printf("_initialize: begin\n");
  __wasm_call_ctors();
  state = state * 10 + 2;
  printf("_initialize: end\n");
}
int init_state(void) { return state; }
