#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libneeds.so", RTLD_NOW);
  void (*f)(const char *) = (void (*)(const char *))dlsym(h, "needs_say");
  f("hi");
  return 0;
}
