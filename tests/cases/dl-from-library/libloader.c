/* A library that uses dlfcn.h itself (as an interpreter library loads its C modules): main never
 * calls dl* but is linked against this library. Its constructor already calls dlopen. */
#include <dlfcn.h>
#include <stdio.h>
static void *early;
__attribute__((constructor)) static void loader_init(void)
{
    early = dlopen("libplugin.so", RTLD_NOW);
    printf("libloader: constructor: dlopen(libplugin.so) -> %s\n", early ? "handle" : dlerror());
}
int loader_run(void)
{
    void *h = dlopen("libplugin.so", RTLD_NOW);
    const char *(*name)(void) = (const char *(*)(void))dlsym(h, "plugin_name");
    printf("libloader: plugin_name() = %s\n", name ? name() : dlerror());
    printf("libloader: dlsym(h, \"nope\") -> %s\n", dlsym(h, "nope") ? "found" : dlerror());
    void *n = dlopen("libnohdr.so", RTLD_NOW);
    int (*probe)(void) = (int (*)(void))dlsym(n, "nohdr_probe");
    printf("libloader: nohdr_probe() = %d\n", probe ? probe() : -1);
    /* libnohdr opened libplugin too and never closed it: libplugin stays loaded until exit. */
    printf("libloader: dlclose -> %d %d %d\n", dlclose(h), dlclose(early), dlclose(n));
    return 7;
}
