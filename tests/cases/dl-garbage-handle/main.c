/* Handles at and above 0x80000000 are garbage, not RTLD_NEXT of some library: NULL + dlerror. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
int main(void)
{
    dlopen("liba.so", RTLD_NOW | RTLD_GLOBAL);
    dlopen("libb.so", RTLD_NOW | RTLD_GLOBAL);
    uintptr_t bad[] = {0x80000000u, 0x80000001u, 0x80000002u, 0xfffffffeu};
    for (int i = 0; i < 4; i++) {
        void *p = dlsym((void *)bad[i], "shared_fn");
        const char *e = dlerror();
        printf("dlsym(%#lx) -> %s, dlerror: %s\n", (unsigned long)bad[i], p ? "a symbol" : "NULL",
               e ? e : "(none)");
    }
    int (*next)(void) = (int (*)(void))dlsym(RTLD_NEXT, "shared_fn");
    printf("RTLD_NEXT from main: %d\n", next ? next() : -1);
    return 0;
}
