#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *h = dlopen("libraw.so", RTLD_NOW);
    int (*hello)(void) = (int (*)(void))dlsym(h, "raw_hello");
    fflush(stdout);
    int r = hello ? hello() : -1;
    printf("main: raw_hello() = %d\n", r);
    return 0;
}
