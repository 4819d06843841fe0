/* The executable's definition wins, as on Linux: main and libplug.so both define the data symbol
 * `shared_counter` and the weak function `who`. lld and GNU ld export main's copies (here
 * `wasm-dl flags main` asks for them with --export-if-defined; natively, -rdynamic), and every
 * reference in the library binds to them. dlsym on the library's own handle still finds the
 * library's copy first (its local scope). */
#include <dlfcn.h>
#include <stdio.h>

int shared_counter = 100;
__attribute__((weak)) const char *who(void) { return "main"; }

int main(void) {
  void *h = dlopen("libplug.so", RTLD_NOW);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  void (*report)(const int *)  = (void (*)(const int *))dlsym(h, "plug_report");
  report(&shared_counter);
  report(&shared_counter);
  printf("main: shared_counter = %d, who() = %s\n", shared_counter, who());
  int *own = (int *)dlsym(h, "shared_counter");
  printf("main: dlsym(libplug, \"shared_counter\") is main's: %s, value %d\n",
         own == &shared_counter ? "yes" : "no", own ? *own : -1);
  int *global = (int *)dlsym(RTLD_DEFAULT, "shared_counter");
  printf("main: dlsym(RTLD_DEFAULT, \"shared_counter\") is main's: %s\n",
         global == &shared_counter ? "yes" : "no");
  return 0;
}
