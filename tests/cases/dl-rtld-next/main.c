#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    /* The global scope: libwrap.so, then libbase.so. */
    dlopen("libwrap.so", RTLD_NOW | RTLD_GLOBAL);
    dlopen("libbase.so", RTLD_NOW | RTLD_GLOBAL);
    int (*greet)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "greet");
    printf("greet(5) = %d (libwrap's, wrapping libbase's)\n", greet(5));
    int (*next)(int) = (int (*)(int))dlsym(RTLD_NEXT, "greet");
    printf("main's RTLD_NEXT greet(5) = %d (the first after main)\n", next ? next(5) : -1);
    printf("RTLD_NEXT missing: %s\n", dlsym(RTLD_NEXT, "nope") ? "found" : dlerror());
    void *l = dlopen("liblocal.so", RTLD_NOW);
    int (*f)(int) = (int (*)(int))dlsym(l, "local_next_greet");
    printf("liblocal's RTLD_NEXT greet(5) = %d\n", f ? f(5) : -1);
    return 0;
}
