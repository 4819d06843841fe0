/* QuickJS as a shared library: this small main module dlopens libqjs.so (the engine, quickjs-libc
 * and qjs-dl.c built with -DQJS_DL_IN_LIBRARY, all PIC) and runs its qjs_dl_main. fib.so and
 * point.so then bind their JS_* imports to libqjs.so, not to main.
 *
 * The main_dl* wrappers exist because a library cannot call dl* itself yet (see lib-dlfcn.h), and
 * main calls into libqjs.so through dlsym because a main module cannot import library functions yet
 * (repros/main-imports-from-library). */
#include <dlfcn.h>
#include <stdio.h>

void *main_dlopen(const char *filename, int flags) { return dlopen(filename, flags); }
void *main_dlsym(void *handle, const char *symbol) { return dlsym(handle, symbol); }
int main_dlclose(void *handle) { return dlclose(handle); }
char *main_dlerror(void) { return dlerror(); }

int main(int argc, char **argv)
{
    void *h = dlopen("libqjs.so", RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        fprintf(stderr, "dlopen libqjs.so: %s\n", dlerror());
        return 2;
    }
    int (*run)(int, char **) = (int (*)(int, char **))dlsym(h, "qjs_dl_main");
    if (!run) {
        fprintf(stderr, "dlsym qjs_dl_main: %s\n", dlerror());
        return 2;
    }
    return run(argc, argv);
}
