/* main calls a library function without being linked against the library (`--allow-undefined`:
 * an `env.lib_value` import and no NEEDED entry). The composer binds it to the first library
 * that defines it, and loads that library before main runs. main also takes its address: as
 * with ELF's canonical PLT entries, that address is the same in the library and for dlsym. */
#include <dlfcn.h>
#include <stdio.h>
int lib_value(void);          /* defined by libprovides.so */
void *lib_value_address(void); /* likewise */
int main(void)
{
    int (*p)(void) = lib_value;
    printf("lib_value() = %d, through a pointer: %d\n", lib_value(), p());
    printf("&lib_value in main == in the library: %s\n",
           (void *)p == lib_value_address() ? "yes" : "no");
    printf("== dlsym(RTLD_DEFAULT): %s\n", (void *)p == dlsym(RTLD_DEFAULT, "lib_value") ? "yes" : "no");
    return 0;
}
