#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

static void *open_lib(const char *name) {
  void *h = dlopen(name, RTLD_NOW);
  if (!h) printf("dlopen %s: %s\n", name, dlerror());
  return h;
}

int main(void) {
  void *odd = open_lib("libodd.so");
  void *t16 = open_lib("libtalign16.so");
  void *odd2 = open_lib("libodd2.so");
  void *t8 = open_lib("libtalign8.so");
  if (!odd || !t16 || !odd2 || !t8) return 1;
  int (*odd_sum)(void) = (int (*)(void))dlsym(odd, "odd_sum");
  int (*t16_base)(void) = (int (*)(void))dlsym(t16, "t16_base");
  int (*t16_call)(int) = (int (*)(int))dlsym(t16, "t16_call");
  int (*t8_base)(void) = (int (*)(void))dlsym(t8, "t8_base");
  int (*t8_call)(void) = (int (*)(void))dlsym(t8, "t8_call");
  printf("odd_sum() = %d\n", odd_sum());
  printf("libtalign16: table base %% 16 = %d, elements %d %d %d\n", t16_base() % 16,
         t16_call(0), t16_call(1), t16_call(2));
  /* Its function slots follow its 3 elements. */
  printf("libtalign16: &t16_base - base = %d\n", (int)(uintptr_t)t16_base - t16_base());
  printf("libtalign8: table base %% 8 = %d, element %d\n", t8_base() % 8, t8_call());
  return 0;
}
