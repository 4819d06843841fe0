/* RTLD_DEFAULT searches main and the libraries opened RTLD_GLOBAL, in load order; RTLD_LOCAL
 * libraries are reached only through their handle until opened again with RTLD_GLOBAL.
 * From main, RTLD_NEXT searches the same global scope (everything after main). */
#include <dlfcn.h>
#include <stdio.h>

static void lookup(const char *name) {
  int (*f)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, name);
  const char *e = f ? NULL : dlerror();
  printf("dlsym(RTLD_DEFAULT, %s): %d%s%s\n", name, f ? f() : -1, e ? "; " : "", e ? e : "");
}

int main(void) {
  void *l = dlopen("liblocal.so", RTLD_NOW | RTLD_LOCAL);
  int (*f)(void) = (int (*)(void))dlsym(l, "local_only");
  printf("dlsym(local handle, local_only): %d\n", f ? f() : -1);
  lookup("local_only");
  lookup("shared_name");
  dlopen("libglob.so", RTLD_NOW | RTLD_GLOBAL);
  lookup("glob_only");
  lookup("shared_name");
  /* Promoted: it joins the end of the global scope, so libglob still wins shared_name (glibc). */
  dlopen("liblocal.so", RTLD_NOW | RTLD_GLOBAL);
  lookup("local_only");
  lookup("shared_name");
  int (*n)(void) = (int (*)(void))dlsym(RTLD_NEXT, "shared_name");
  printf("dlsym(RTLD_NEXT, shared_name): %d\n", n ? n() : -1);
  return 0;
}
