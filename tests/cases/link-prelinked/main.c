/* main is linked against libnear.so (which needs libfar.so): both are prelinked. Their
 * relocated data, constructors' order, dlopen of the loaded library (the same handle, dlclose
 * unloads nothing), dlsym/dladdr of their addresses, and a library dlopen'ed later that points
 * into them, as on Linux. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
int main_data = 42;
int main_hook(int x) { return 100 + x; }
void near_check(const char *when);
void near_fnptrs(void);
int far_big_sum(void);
__attribute__((constructor)) static void main_init(void) { printf("main: constructor\n"); }
static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
int main(void)
{
    near_check("main");
    printf("main: far_big_sum() = %d\n", far_big_sum());
    near_fnptrs();
    void *h = dlopen("libnear.so", RTLD_NOW);
    void *h2 = dlopen("libnear.so", RTLD_NOW);
    printf("main: dlopen(libnear.so) -> %s, again the same: %s\n", h ? "handle" : dlerror(),
           h == h2 ? "yes" : "no");
    int **near_ptr = (int **)dlsym(h, "near_ptr");
    int *far_value = (int *)dlsym(RTLD_DEFAULT, "far_value");
    printf("main: near_ptr points to far_value: %s\n",
           near_ptr && far_value && *near_ptr == far_value ? "yes" : "no");
    int (**near_fn)(int) = (int (**)(int))dlsym(h, "near_fn");
    void *far_twice = dlsym(RTLD_DEFAULT, "far_twice");
    printf("main: near_fn is far_twice: %s\n",
           near_fn && *near_fn == (int (*)(int))far_twice ? "yes" : "no");
    int (**far_fn)(int) = (int (**)(int))dlsym(RTLD_DEFAULT, "far_fn");
    printf("main: far_fn is far_twice: %s\n",
           far_fn && *far_fn == (int (*)(int))far_twice ? "yes" : "no");
    Dl_info info;
    if (dladdr(far_value, &info))
        printf("main: dladdr(far_value) -> %s, %s\n", base(info.dli_fname),
               info.dli_sname ? info.dli_sname : "(null)");
    if (dladdr(near_ptr, &info))
        printf("main: dladdr(near_ptr) -> %s, %s\n", base(info.dli_fname),
               info.dli_sname ? info.dli_sname : "(null)");
    *far_value = 8;
    printf("main: dlclose -> %d, %d\n", dlclose(h2), dlclose(h));
    near_check("after dlclose");
    void *p = dlopen("libplug.so", RTLD_NOW);
    int (*plug_check)(void) = p ? (int (*)(void))dlsym(p, "plug_check") : 0;
    printf("main: libplug's plug_check() = %d\n", plug_check ? plug_check() : -2);
    printf("main: dlclose(libplug) -> %d\n", dlclose(p));
    p = dlopen("libplug.so", RTLD_NOW);
    plug_check = p ? (int (*)(void))dlsym(p, "plug_check") : 0;
    printf("main: again, plug_check() = %d\n", plug_check ? plug_check() : -2);
    return 0;
}
