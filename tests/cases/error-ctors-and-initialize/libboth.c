/* Defines `_initialize` but is linked without `--entry _initialize`: wasm-ld exports both
 * `__wasm_call_ctors` and `_initialize`, and nothing says which one runs the constructors
 * (wit-component refuses such a library too). */
extern void __wasm_call_ctors(void);
static int ready;
__attribute__((constructor)) static void ctor(void) { ready = 1; }
void _initialize(void) { __wasm_call_ctors(); }
int is_ready(void) { return ready; }
