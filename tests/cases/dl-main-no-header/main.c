/* main declares the dl functions itself (no dlfcn.h): it imports them from `env`, and links
 * with `--allow-undefined`. wasm-dl binds them to its dl shim all the same. */
#include <stdio.h>
void *dlopen(const char *name, int mode);
void *dlsym(void *handle, const char *symbol);
char *dlerror(void);
int main(void)
{
    void *h = dlopen("libanswer.so", 2 /* RTLD_NOW */);
    int (*answer)(void) = (int (*)(void))dlsym(h, "answer");
    printf("answer() = %d\n", answer ? answer() : -1);
    printf("dlopen(missing) -> %s\n", dlopen("libmissing.so", 2) ? "handle" : dlerror());
    return 0;
}
