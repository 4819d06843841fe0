/* `--lib libfoo.so.1=libfoo.so` (Composer::alias) makes dlopen find the library by a soname-style
 * name too, also as the last component of a path. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  void *h = dlopen("libfoo.so", RTLD_NOW);
  void *h1 = dlopen("libfoo.so.1", RTLD_NOW);
  void *h2 = dlopen("/opt/lib/libfoo.so.1", RTLD_NOW);
  printf("libfoo.so.1: %s\n", h1 && h1 == h ? "same handle" : "other");
  printf("/opt/lib/libfoo.so.1: %s\n", h2 && h2 == h ? "same handle" : "other");
  int (*f)(void) = (int (*)(void))dlsym(h1, "foo_version");
  printf("foo_version() = %d\n", f ? f() : -1);
  void *h3 = dlopen("libfoo.so.2", RTLD_NOW);
  const char *e = dlerror();
  printf("libfoo.so.2: %s; dlerror: %s\n", h3 ? "a handle" : "NULL", e ? e : "(null)");
  return 0;
}
