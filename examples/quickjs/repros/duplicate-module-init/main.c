#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    const char *names[] = {"a.so", "b.so"};
    for (int i = 0; i < 2; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        const char *(*init)(void) = (const char *(*)(void))dlsym(h, "module_init");
        printf("%s: module_init() = %s\n", names[i], init ? init() : "(null)");
    }
    return 0;
}
