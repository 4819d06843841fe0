/* RTLD_NOLOAD returns a handle only for a library already open (bumping its count, as glibc
 * does) and NULL, without an error and without loading anything, otherwise. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  void *h = dlopen("liba.so", RTLD_NOW | RTLD_NOLOAD);
  printf("NOLOAD before dlopen: %s\n", h ? "a handle" : "NULL");
  printf("dlerror(): %s\n", dlerror() ? "set" : "NULL");
  void *a = dlopen("liba.so", RTLD_NOW);
  printf("dlopen: %s\n", a ? "a handle" : "NULL");
  h = dlopen("liba.so", RTLD_LAZY | RTLD_NOLOAD);
  printf("NOLOAD after dlopen: same handle: %s\n", h == a ? "yes" : "no");
  /* Two opens, two closes. */
  printf("dlclose = %d\n", dlclose(h));
  printf("dlclose = %d\n", dlclose(a));
  printf("third dlclose fails: %s\n", dlclose(a) != 0 ? "yes" : "no");
  printf("dlerror() set: %s\n", dlerror() ? "yes" : "no");
  /* NOLOAD of a name that is not bundled at all: NULL with an error. */
  h = dlopen("libnothere.so", RTLD_NOW | RTLD_NOLOAD);
  printf("NOLOAD of an unknown library: %s\n", h ? "a handle" : "NULL");
  return 0;
}
