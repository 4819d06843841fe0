/* Interposes `greet`: wraps the next definition, found with RTLD_NEXT. */
#include <dlfcn.h>
#include <stdio.h>
int greet(int x)
{
    int (*next)(int) = (int (*)(int))dlsym(RTLD_NEXT, "greet");
    if (!next) {
        printf("libwrap: RTLD_NEXT: %s\n", dlerror());
        return -1;
    }
    return 100 + next(x);
}
