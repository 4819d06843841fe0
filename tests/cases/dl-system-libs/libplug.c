/* A plugin linked, as wasi-sdk and glibc builds are, against the system libraries libdl and libm:
 * dylink.0 NEEDED names no file of the set, and wasm-dl satisfies them itself. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Calls strlen, so the main module exports it (`wasm-dl flags main`) and dlsym finds it there. */
int plug_len(const char *s) { return (int)strlen(s); }

double plug_hypot(double a, double b) { return sqrt(a * a + b * b); }

void plug_report(void) {
  /* dlopen of a system library from a library: a handle, and its functions are libc's. */
  void *dl = dlopen("libdl.so.2", RTLD_NOW);
  printf("plug: dlopen(\"libdl.so.2\"): %s\n", dl ? "a handle" : "NULL");
  void *self = dlopen("libplug.so", RTLD_NOW | RTLD_NOLOAD);
  printf("plug: dlopen(\"libplug.so\", RTLD_NOLOAD): %s\n", self ? "a handle" : "NULL");
  if (self) dlclose(self);
  if (dl) printf("plug: dlclose(libdl) -> %d\n", dlclose(dl));
}
