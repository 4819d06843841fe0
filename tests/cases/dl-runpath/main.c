/* Two bundled libraries named libx.so, in a/ and b/, told apart by RUNPATH ($ORIGIN): top/libtop.so
 * needs `libx.so` with RUNPATH `$ORIGIN/../b` (resolved at compose time), loader/libloader.so
 * dlopens `libx.so` with RUNPATH `$ORIGIN/../a`. Main has no search path of its own, but a name a
 * loaded library was found by means that library, as in glibc. */
#include <dlfcn.h>
#include <stdio.h>

static const char *call(void *h, const char *sym) {
  const char *(*f)(void) = h ? (const char *(*)(void))dlsym(h, sym) : NULL;
  return f ? f() : "(none)";
}

int main(void) {
  void *top = dlopen("top/libtop.so", RTLD_NOW);
  printf("top_x(): %s\n", call(top, "top_x"));
  void *x = dlopen("libx.so", RTLD_NOW | RTLD_NOLOAD);
  printf("dlopen(\"libx.so\", RTLD_NOLOAD): %s\n", call(x, "x_dir"));
  dlclose(x);
  dlclose(top);
  /* libtop.so and its libx.so are unloaded: `libx.so` is no loaded library's name now. */
  x = dlopen("libx.so", RTLD_NOW | RTLD_NOLOAD);
  printf("after dlclose, dlopen(\"libx.so\", RTLD_NOLOAD): %s\n", x ? "a handle" : "NULL");
  void *loader = dlopen("loader/libloader.so", RTLD_NOW);
  printf("loader_x(): %s\n", call(loader, "loader_x"));
  x = dlopen("libx.so", RTLD_NOW);
  printf("dlopen(\"libx.so\"): %s\n", call(x, "x_dir"));
  printf("dlopen(\"b/libx.so\"): %s\n", call(dlopen("b/libx.so", RTLD_NOW), "x_dir"));
  return 0;
}
