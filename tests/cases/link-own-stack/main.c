/* main is linked without -Wl,--export=__stack_pointer. */
#include <dlfcn.h>
#include <stdio.h>
int main_sum(const int *v, int n)
{
    volatile int local[32]; /* main's own frames, on main's stack */
    int s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    local[0] = s;
    return local[0];
}
int main(void)
{
    volatile int guard[16];
    for (int i = 0; i < 16; i++)
        guard[i] = 1000 + i;
    void *h = dlopen("libdeep.so", RTLD_NOW);
    int (*run)(int) = (int (*)(int))dlsym(h, "deep_run");
    printf("deep_run(100) = %d\n", run ? run(100) : -1);
    printf("deep_run(10) = %d\n", run ? run(10) : -1);
    int ok = 1;
    for (int i = 0; i < 16; i++)
        ok &= guard[i] == 1000 + i;
    printf("main's stack intact: %s\n", ok ? "yes" : "no");
    return 0;
}
