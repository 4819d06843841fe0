/* Many lookups of the same handles: the shim answers a library handle's own names from its
 * compose-time symbol tables (abi/src/symtab.rs), the rest from the provider and then its memo;
 * the answers must stay the provider's. A library
 * handle searches the library, then its dependencies; misses still fail with dlerror's text;
 * RTLD_DEFAULT and RTLD_NEXT search the global scope; after dlclose and a new dlopen (with
 * another library placed in between), the new addresses are returned. */
#include <dlfcn.h>
#include <stdio.h>

static int call(void *h, const char *name) {
  int (*f)(void) = (int (*)(void))dlsym(h, name);
  return f ? f() : -1;
}

static int data(void *h, const char *name) {
  int *d = dlsym(h, name);
  return d ? *d : -1;
}

static void round_of(const char *what, void *h, int print) {
  for (int rep = 0; rep < 40; rep++) {
    int s = call(h, "shared_name"), t = call(h, "top_only"), d = call(h, "dep_only");
    int td = data(h, "top_data"), dd = data(h, "dep_data");
    void *miss = dlsym(h, "no_such_symbol");
    const char *e = dlerror();
    if (print && rep == 39)
      printf("%s: shared_name %d, top_only %d, dep_only %d, top_data %d, dep_data %d, miss %s, "
             "dlerror %s\n",
             what, s, t, d, td, dd, miss ? "found" : "NULL", e ? "set" : "NULL");
  }
}

int main(void) {
  void *top = dlopen("libtop.so", RTLD_NOW | RTLD_LOCAL);
  round_of("local handle", top, 1);
  int (**ptr)(void) = dlsym(top, "top_ptr");
  printf("top_second %d, top_ptr() %d, top_only() %d\n", data(top, "top_second"), (*ptr)(),
         call(top, "top_only"));
  round_of("RTLD_DEFAULT before RTLD_GLOBAL", RTLD_DEFAULT, 1);
  for (int rep = 0; rep < 40; rep++) dlsym(RTLD_DEFAULT, "no_such_symbol");
  printf("RTLD_DEFAULT miss: %s\n", dlerror());
  void *global = dlopen("libtop.so", RTLD_NOW | RTLD_GLOBAL);
  printf("same handle: %s\n", global == top ? "yes" : "no");
  round_of("RTLD_DEFAULT", RTLD_DEFAULT, 1);
  round_of("dlopen(NULL)", dlopen(NULL, RTLD_NOW), 1);
  round_of("RTLD_NEXT", RTLD_NEXT, 1);
  dlclose(global);
  dlclose(top);
  /* Another library takes the place libtop had, so libtop comes back elsewhere. */
  void *other = dlopen("libother.so", RTLD_NOW);
  printf("other: %d\n", call(other, "other"));
  top = dlopen("libtop.so", RTLD_NOW);
  round_of("reopened", top, 1);
  ptr = dlsym(top, "top_ptr");
  printf("reopened: top_second %d, top_ptr() %d\n", data(top, "top_second"), (*ptr)());
  int *after = dlsym(top, "top_data");
  printf("top_data reads %d\n", *after);
  return 0;
}
