/* A library that exports data: a non-PIC main linked against it cannot take `&library_var`
 * (wasm-ld links the address as 0, silently), so compose warns and names the fix (-fPIC). */
int library_var = 42;
int lib_get(void) { return library_var; }
