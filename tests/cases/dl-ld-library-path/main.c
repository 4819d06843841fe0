/* Two bundled libraries named libx.so, in a/ and b/: a name with a `/` is a path, a name
 * without one is searched in LD_LIBRARY_PATH (`nowhere:b`, from the environment the program
 * starts with), as glibc's ld.so does. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static const char *dir(void *h) {
  const char *(*f)(void) = h ? (const char *(*)(void))dlsym(h, "x_dir") : NULL;
  return f ? f() : "(none)";
}

int main(void) {
  void *h = dlopen("libx.so", RTLD_NOW);
  printf("dlopen(\"libx.so\"): %s\n", dir(h));
  void *ha = dlopen("a/libx.so", RTLD_NOW);
  printf("dlopen(\"a/libx.so\"): %s, %s handle\n", dir(ha), ha == h ? "the same" : "another");
  void *hb = dlopen("./a/../b//libx.so", RTLD_NOW);
  printf("dlopen(\"./a/../b//libx.so\"): %s, %s handle\n", dir(hb), hb == h ? "the same" : "another");
  /* LD_LIBRARY_PATH is read when the program starts: changing it later changes nothing. */
  setenv("LD_LIBRARY_PATH", "a", 1);
  dlclose(h);
  dlclose(hb);
  h = dlopen("libx.so", RTLD_NOW);
  printf("after setenv(\"LD_LIBRARY_PATH\", \"a\"), dlopen(\"libx.so\"): %s\n", dir(h));
  void *hc = dlopen("c/libx.so", RTLD_NOW);
  printf("dlopen(\"c/libx.so\"): %s\n", hc ? "a handle" : "NULL");
  return 0;
}
