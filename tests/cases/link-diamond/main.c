/* Constructors run dependencies first, each exactly once, at the first dlopen (a diamond:
 * top needs left and right, both need base). */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  puts("main: start (no library constructor has run)");
  void *top = dlopen("libtop.so", RTLD_NOW);
  if (!top) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  puts("main: libtop.so opened");
  int (*top_sum)(void) = (int (*)(void))dlsym(top, "top_sum");
  printf("main: top_sum() = %d\n", top_sum());
  /* Opening a dependency by itself runs nothing again. */
  void *base = dlopen("libbase.so", RTLD_NOW);
  int *hits = (int *)dlsym(base, "base_ctor_runs");
  printf("main: base constructor ran %d time(s)\n", *hits);
  return 0;
}
