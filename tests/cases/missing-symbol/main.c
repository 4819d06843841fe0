/* dlsym of a name the library does not define fails with NULL, and dlerror() names the symbol once. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  void *h = dlopen("libhas.so", RTLD_NOW);
  printf("dlopen(\"libhas.so\") returned %s\n", h ? "a handle" : "NULL");
  printf("dlerror() after a good dlopen is NULL: %s\n", dlerror() == NULL ? "yes" : "no");
  void *p = dlsym(h, "nope");
  printf("dlsym(h, \"nope\") returned %s\n", p ? "a pointer" : "NULL");
  const char *err = dlerror();
  printf("dlerror() is set: %s\n", err ? "yes" : "no");
  printf("dlerror() names nope: %s\n", err && strstr(err, "nope") ? "yes" : "no");
  printf("second dlerror() is NULL: %s\n", dlerror() == NULL ? "yes" : "no");
  int (*has)(void) = (int (*)(void))dlsym(h, "has_one");
  printf("has_one() = %d\n", has ? has() : -1);
  return 0;
}
