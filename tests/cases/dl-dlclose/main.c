/* dlclose at reference count zero runs the library's __wasm_call_dtors, then its dependencies'
 * (dependents first); a later dlopen loads and constructs them again, statics fresh.
 * RTLD_NODELETE keeps a library loaded. Destructors registered with __cxa_atexit run at exit. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  void *h = dlopen("libplug.so", RTLD_NOW);
  int (*bump)(void) = (int (*)(void))dlsym(h, "plug_bump");
  bump();
  printf("main: plug_bump() = %d\n", bump());
  void *h2 = dlopen("libplug.so", RTLD_NOW);
  printf("main: dlclose (count 2 -> 1) = %d\n", dlclose(h2));
  printf("main: dlclose (count 1 -> 0) = %d\n", dlclose(h));
  printf("main: RTLD_NOLOAD after close: %s\n",
         dlopen("libplug.so", RTLD_NOW | RTLD_NOLOAD) ? "a handle" : "NULL");
  printf("main: dlsym on the closed handle: %s\n", dlsym(h, "plug_bump") ? "found" : "NULL");
  printf("main: dlerror: %s\n", dlerror());

  h = dlopen("libplug.so", RTLD_NOW | RTLD_NODELETE);
  bump = (int (*)(void))dlsym(h, "plug_bump");
  printf("main: reopened, plug_bump() = %d\n", bump());
  printf("main: dlclose (NODELETE) = %d\n", dlclose(h));
  printf("main: RTLD_NOLOAD after NODELETE close: %s\n",
         dlopen("libplug.so", RTLD_NOW | RTLD_NOLOAD) ? "a handle" : "NULL");
  printf("main: returns\n");
  return 0;
}
