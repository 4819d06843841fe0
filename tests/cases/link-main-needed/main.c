/* main is linked against libvalue.so (which needs libbase.so): both are loaded, constructors
 * first, before main runs; main calls libvalue's functions directly, and dlopen of the same
 * library finds it already loaded. */
#include <dlfcn.h>
#include <stdio.h>
int value_get(void);
double value_mix(int a, long long b, double c);
int value_base_calls(void);
__attribute__((constructor)) static void main_init(void) { printf("main: constructor\n"); }
int main_hook(int x) { return 1000 * x; }
int main(void)
{
    printf("main: value_get() = %d\n", value_get());
    printf("main: value_mix(2, 3, 0.5) = %.1f\n", value_mix(2, 3, 0.5));
    void *h = dlopen("libvalue.so", RTLD_NOW);
    printf("main: dlopen -> %s\n", h ? "handle" : dlerror());
    int (*get)(void) = (int (*)(void))dlsym(h, "value_get");
    printf("main: dlsym(value_get)() = %d\n", get ? get() : -1);
    int (*calls)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "value_base_calls");
    printf("main: RTLD_DEFAULT value_base_calls() = %d\n", calls ? calls() : -1);
    printf("main: dlclose -> %d\n", dlclose(h));
    printf("main: still callable: value_get() = %d\n", value_get());
    return 0;
}
