/* dlsym of many names, each several times (the shim memoizes successful lookups; any dlclose
 * forgets them), through a library handle and RTLD_DEFAULT. */
#include <dlfcn.h>
#include <stdio.h>
static int check(void *h, int round)
{
    char name[16];
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "v%d", i);
        int *v = dlsym(h, name);
        snprintf(name, sizeof name, "f%d", i);
        int (*f)(void) = (int (*)(void))dlsym(h, name);
        if (!v || *v != i || !f || f() != i + 1)
            bad++;
    }
    printf("round %d: %d wrong, missing: %s\n", round, bad, dlsym(h, "v1000") ? "found" : "NULL");
    return bad;
}
int main(void)
{
    void *h = dlopen("libmany.so", RTLD_NOW | RTLD_GLOBAL);
    check(h, 1);
    check(h, 2);
    check(RTLD_DEFAULT, 3);
    void *first = dlsym(h, "v7");
    printf("dlclose -> %d\n", dlclose(h));
    printf("after dlclose: %s\n", dlsym(h, "v7") ? "found" : "NULL");
    printf("RTLD_DEFAULT after dlclose: %s\n", dlsym(RTLD_DEFAULT, "v7") ? "found" : "NULL");
    h = dlopen("libmany.so", RTLD_NOW);
    check(h, 4);
    printf("same address after reopening: %s\n", dlsym(h, "v7") == first ? "yes" : "no");
    return 0;
}
