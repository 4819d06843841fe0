/* Main's own RUNPATH ($ORIGIN/b: main is linked against libbase.so, so wasm-ld gives it a
 * dylink.0 with its RUNPATH) picks b/libx.so for its dlopen("libx.so"), as on Linux. */
#include <dlfcn.h>
#include <stdio.h>

int base_value(void);

int main(void) {
  void *h = dlopen("libx.so", RTLD_NOW);
  const char *(*f)(void) = h ? (const char *(*)(void))dlsym(h, "x_dir") : NULL;
  printf("base_value() = %d; dlopen(\"libx.so\"): %s\n", base_value(), f ? f() : "(none)");
  return 0;
}
