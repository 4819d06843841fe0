/* System library names as glibc answers them: dlopen("libm.so.6") and dlopen("libdl.so.2") give
 * handles whose dlsym finds libc's functions; a library NEEDing libdl.so/libm.so.6 loads; an
 * unknown versioned name is still an error. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  const char *names[] = {"libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"};
  for (int i = 0; i < 4; i++) {
    void *h = dlopen(names[i], RTLD_NOW);
    printf("dlopen(\"%s\"): %s\n", names[i], h ? "a handle" : dlerror());
    if (h) {
      size_t (*len)(const char *) = (size_t (*)(const char *))dlsym(h, "strlen");
      printf("  dlsym(h, \"strlen\"): %s, strlen(\"hello\") = %d\n", len ? "found" : "NULL",
             len ? (int)len("hello") : -1);
      printf("  dlclose -> %d\n", dlclose(h));
    }
  }
  void *p = dlopen("libplug.so", RTLD_NOW);
  printf("dlopen(\"libplug.so\"): %s\n", p ? "a handle" : dlerror());
  if (!p) return 1;
  int (*plen)(const char *) = (int (*)(const char *))dlsym(p, "plug_len");
  printf("plug_len(\"plugin\") = %d\n", plen("plugin"));
  double (*hyp)(double, double) = (double (*)(double, double))dlsym(p, "plug_hypot");
  printf("plug_hypot(3, 4) = %.1f\n", hyp(3, 4));
  void (*report)(void) = (void (*)(void))dlsym(p, "plug_report");
  report();
  void *missing = dlopen("libnothere.so.1", RTLD_NOW);
  const char *e = dlerror();
  printf("dlopen(\"libnothere.so.1\"): %s, dlerror mentions it: %s\n", missing ? "a handle" : "NULL",
         e && strstr(e, "libnothere.so.1") ? "yes" : "no");
  printf("dlclose(libplug) -> %d\n", dlclose(p));
  return 0;
}
