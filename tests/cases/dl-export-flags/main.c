#include <dlfcn.h>
#include <stdio.h>

static const char *found(void *p) { return p ? "found" : "NULL"; }

int main(void) {
  void *h = dlopen("libflags.so", RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  int (*visible)(void) = (int (*)(void))dlsym(h, "flags_visible");
  int (*after)(void) = (int (*)(void))dlsym(h, "flags_after_hidden");
  int *data = (int *)dlsym(h, "flags_data");
  printf("flags_visible() = %d, flags_after_hidden() = %d, flags_data = %d\n", visible(), after(),
         *data);
  printf("dlsym flags_hidden: %s\n", found(dlsym(h, "flags_hidden")));
  printf("dlsym flags_local: %s\n", found(dlsym(h, "flags_local")));
  printf("dlsym flags_hidden_data: %s\n", found(dlsym(h, "flags_hidden_data")));
  printf("dlsym RTLD_DEFAULT flags_hidden: %s\n", found(dlsym(RTLD_DEFAULT, "flags_hidden")));
  void *c = dlopen("libcaller.so", RTLD_NOW);
  if (!c) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  void (*report)(void) = (void (*)(void))dlsym(c, "caller_report");
  report();
  return 0;
}
