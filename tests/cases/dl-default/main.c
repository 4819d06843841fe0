/* dlopen(NULL) is the global scope; it and RTLD_DEFAULT find main's exports and the symbols of
 * libraries opened RTLD_GLOBAL. */
#include <dlfcn.h>
#include <stdio.h>

int main_fn(int x) { return x * 3; }
int main_data = 5;

int main(void) {
  void *self = dlopen(NULL, RTLD_NOW);
  printf("dlopen(NULL): %s\n", self ? "a handle" : "NULL");
  int (*f)(int) = (int (*)(int))dlsym(self, "main_fn");
  printf("dlsym(self, main_fn) == main_fn: %s\n", f == main_fn ? "yes" : "no");
  printf("f(4) = %d\n", f ? f(4) : -1);
  int *d = (int *)dlsym(RTLD_DEFAULT, "main_data");
  printf("dlsym(RTLD_DEFAULT, main_data) == &main_data: %s\n", d == &main_data ? "yes" : "no");

  void *a = dlopen("liba.so", RTLD_NOW | RTLD_GLOBAL);
  printf("dlopen(liba.so, RTLD_GLOBAL): %s\n", a ? "a handle" : "NULL");
  int (*g)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "a_global_fn");
  printf("dlsym(RTLD_DEFAULT, a_global_fn)(1) = %d\n", g ? g(1) : -1);
  printf("same as dlsym(a, ...): %s\n", g == dlsym(a, "a_global_fn") ? "yes" : "no");
  int *ad = (int *)dlsym(self, "a_global_data");
  printf("dlsym(self, a_global_data) = %d\n", ad ? *ad : -1);

  void *p = dlsym(RTLD_DEFAULT, "no_such_symbol");
  const char *e = dlerror();
  printf("dlsym(RTLD_DEFAULT, no_such_symbol): %s; dlerror: %s\n", p ? "found" : "NULL",
         e ? e : "(null)");
  printf("dlerror() again: %s\n", dlerror() ? "set" : "NULL");
  return 0;
}
