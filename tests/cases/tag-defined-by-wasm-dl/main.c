/* A tag no module defines (`__cpp_exception`, imported by both libraries) is defined once by
 * wasm-dl: the throw in libthrow is caught by its tag in libcatch, not only by catch_all. */
#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *h = dlopen("libcatch.so", RTLD_NOW);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    int (*catch_value)(int) = (int (*)(int))dlsym(h, "catch_value");
    printf("catch_value(21) = %d\n", catch_value(21));
    return 0;
}
