/* A bundled library is found by the name given at compose time and by the basename of any path,
 * as if every bundled library sat in every directory. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  void *h = dlopen("libx.so", RTLD_NOW);
  const char *paths[] = {"/usr/lib/plugins/libx.so", "plugins/libx.so", "./libx.so", "/libx.so"};
  for (int i = 0; i < 4; i++) {
    void *p = dlopen(paths[i], RTLD_NOW);
    int (*f)(void) = (int (*)(void))dlsym(p, "x_value");
    printf("dlopen(\"%s\"): %s, x_value() = %d\n", paths[i],
           p == h && h ? "same handle" : "other", f ? f() : -1);
  }
  void *p = dlopen("/usr/lib/libx.so/", RTLD_NOW);
  const char *e = dlerror();
  printf("dlopen(\"/usr/lib/libx.so/\"): %s; dlerror: %s\n", p ? "a handle" : "NULL", e ? e : "(null)");
  p = dlopen("libx", RTLD_NOW);
  e = dlerror();
  printf("dlopen(\"libx\"): %s; dlerror: %s\n", p ? "a handle" : "NULL", e ? e : "(null)");
  return 0;
}
