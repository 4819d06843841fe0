/* main is compiled -fPIC and linked (as an ordinary executable) against libprovides.so. It takes
 * the address of a library function and uses a library variable: wasm-ld gives main the imports
 * `GOT.func.lib_value` and `GOT.mem.lib_counter`, which the loader must set to the library's
 * table slot and address, as for a library's GOT.
 *
 * This is what LLVM asks for: compiled without -fPIC, wasm-ld 19 silently links `&lib_value` as
 * table index 0 (a null function pointer), and wasm-ld 20+ refuses ("relocation
 * R_WASM_TABLE_INDEX_SLEB cannot be used against symbol `lib_value`; recompile with -fPIC").
 * QuickJS's qjs.c, linked against a shared libqjs.so, passes `js_module_loader` this way. */
#include <dlfcn.h>
#include <stdio.h>
int lib_value(void);
void *lib_value_address(void);
int *lib_counter_address(void);
extern int lib_counter;
int main(void)
{
    int (*p)(void) = lib_value;
    printf("lib_value() = %d, through a pointer: %d\n", lib_value(), p ? p() : -1);
    printf("&lib_value in main == in the library: %s\n",
           (void *)p == lib_value_address() ? "yes" : "no");
    printf("== dlsym(RTLD_DEFAULT): %s\n", (void *)p == dlsym(RTLD_DEFAULT, "lib_value") ? "yes" : "no");
    lib_counter += 2;
    printf("lib_counter = %d, &lib_counter in main == in the library: %s\n", lib_counter,
           &lib_counter == lib_counter_address() ? "yes" : "no");
    return 0;
}
