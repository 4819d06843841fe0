/* Weak undefined symbols resolve to NULL; a library's own weak definition is what it uses when no
 * library in its scope comes before it (glibc's dynamic lookup ignores weakness). */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  void *w = dlopen("libweak.so", RTLD_NOW);
  if (!w) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  void (*report)(void) = (void (*)(void))dlsym(w, "weak_report");
  report();
  return 0;
}
