#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  printf("dlopen\n");
  void *h = dlopen("libreactor.so", RTLD_NOW);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  int (*state)(void) = (int (*)(void))dlsym(h, "init_state");
  printf("init_state() = %d\n", state());
  printf("dlsym(_initialize) = %s\n", dlsym(h, "_initialize") ? "found" : "NULL");
  printf("dlopen again\n");
  void *again = dlopen("libreactor.so", RTLD_NOW);
  printf("same handle: %s, init_state() = %d\n", again == h ? "yes" : "no", state());
  dlclose(again);
  dlclose(h);
  return 0;
}
