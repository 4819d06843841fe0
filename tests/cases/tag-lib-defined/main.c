/* A tag one library defines binds the import of another (like a function symbol): the throw in
 * libthrower is caught in libcatcher. */
#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *h = dlopen("libcatcher.so", RTLD_NOW);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    int (*try_it)(int) = (int (*)(int))dlsym(h, "catcher_try");
    printf("catcher_try(41) = %d\n", try_it(41));
    return 0;
}
