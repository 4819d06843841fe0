/* With --stub-missing, undefined functions become stubs: composing succeeds and the library
 * works as long as it does not call them. */
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libpartial.so", RTLD_NOW);
  if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
  int (*ok)(void) = (int (*)(void))dlsym(h, "works");
  printf("works() = %d\n", ok());
  return 0;
}
