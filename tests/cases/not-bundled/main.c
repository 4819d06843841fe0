/* dlopen of a name that was not bundled fails with NULL, and dlerror() names it once. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  void *h = dlopen("libnope.so", RTLD_NOW);
  printf("dlopen(\"libnope.so\") returned %s\n", h ? "a handle" : "NULL");
  const char *err = dlerror();
  printf("dlerror() is set: %s\n", err ? "yes" : "no");
  printf("dlerror() names libnope.so: %s\n", err && strstr(err, "libnope.so") ? "yes" : "no");
  printf("second dlerror() is NULL: %s\n", dlerror() == NULL ? "yes" : "no");

  /* A bundled library still opens afterwards. */
  h = dlopen("libhere.so", RTLD_NOW);
  printf("dlopen(\"libhere.so\") returned %s\n", h ? "a handle" : "NULL");
  int (*here)(void) = (int (*)(void))dlsym(h, "here");
  printf("here() = %d\n", here ? here() : -1);
  return 0;
}
