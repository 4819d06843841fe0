/* A dlopen that cannot get table slots returns NULL with a message, and the program goes on. */
#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *a = dlopen("libbiga.so", RTLD_NOW);
    printf("dlopen(libbiga.so) -> %s\n", a ? "handle" : dlerror());
    void *b = dlopen("libbigb.so", RTLD_NOW);
    printf("dlopen(libbigb.so) -> %s\n", b ? "handle" : dlerror());
    printf("libbigb.so loaded: %s\n", dlopen("libbigb.so", RTLD_NOW | RTLD_NOLOAD) ? "yes" : "no");
    int (*fa)(void) = a ? (int (*)(void))dlsym(a, "biga_fn") : 0;
    printf("biga_fn() = %d\n", fa ? fa() : -1);
    dlclose(a);
    /* libbiga.so keeps its slots when closed: libbigb.so still does not fit. */
    b = dlopen("libbigb.so", RTLD_NOW);
    printf("again: dlopen(libbigb.so) -> %s\n", b ? "handle" : dlerror());
    void *s = dlopen("libsmall.so", RTLD_NOW);
    int (*fs)(void) = s ? (int (*)(void))dlsym(s, "small_fn") : 0;
    printf("small_fn() = %d\n", fs ? fs() : -1);
    return 0;
}
