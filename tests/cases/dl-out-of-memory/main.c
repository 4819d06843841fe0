#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *h = dlopen("libuser.so", RTLD_NOW | RTLD_GLOBAL);
    printf("dlopen(libuser.so) -> %s\n", h ? "handle" : dlerror());
    printf("libsmall.so loaded: %s\n", dlopen("libsmall.so", RTLD_NOW | RTLD_NOLOAD) ? "yes" : "no");
    printf("RTLD_DEFAULT user_fn: %s\n", dlsym(RTLD_DEFAULT, "user_fn") ? "found" : "not found");
    void *s = dlopen("libsmall.so", RTLD_NOW);
    int (*f)(void) = (int (*)(void))dlsym(s, "small_fn");
    printf("small_fn() = %d\n", f ? f() : -1);
    return 0;
}
