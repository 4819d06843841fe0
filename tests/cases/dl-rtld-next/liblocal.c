/* Opened RTLD_LOCAL, linked against libbase.so: RTLD_NEXT searches its own dependencies. */
#include <dlfcn.h>
int local_next_greet(int x)
{
    int (*next)(int) = (int (*)(int))dlsym(RTLD_NEXT, "greet");
    return next ? next(x) : -1;
}
