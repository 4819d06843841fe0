#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *h = dlopen("libmb.so", RTLD_NOW);
    int (*f)(void) = h ? (int (*)(void))dlsym(h, "mb_fn") : 0;
    printf("mb_fn() = %d\n", f ? f() : -1);
    return 0;
}
