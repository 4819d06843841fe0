/* A small main: its own table has a single slot (wasm-ld's initial size = its element count + 1). */
#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *h = dlopen("libbig.so", RTLD_NOW);
    int (*sum)(void) = (int (*)(void))dlsym(h, "sum");
    printf("sum() = %d\n", sum ? sum() : -1);
    return 0;
}
