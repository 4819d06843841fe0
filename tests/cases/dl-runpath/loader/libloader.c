/* Its RUNPATH is `$ORIGIN/../a`: its own dlopen("libx.so") searches there. */
#include <dlfcn.h>

const char *loader_x(void) {
  void *h = dlopen("libx.so", RTLD_NOW);
  const char *(*f)(void) = h ? (const char *(*)(void))dlsym(h, "x_dir") : 0;
  return f ? f() : "(none)";
}
