/* dladdr: for a function pointer or a data address inside a loaded library, the library's name
 * and memory base and the nearest exported symbol at or below; 0 for addresses outside. */
#include <dlfcn.h>
#include <stdio.h>

static int local_fn(int x) { return x; }
static int local_data;

static void show(const char *what, const void *addr, void *h) {
  Dl_info info;
  int r = dladdr(addr, &info);
  if (!r) {
    printf("%s: dladdr = 0\n", what);
    return;
  }
  void *base = dlsym(h, "shape_count"); /* the first data symbol sits at the base */
  printf("%s: dladdr = %d, fname = %s, fbase %s, sname = %s, saddr %s\n", what, r,
         info.dli_fname, info.dli_fbase && info.dli_fbase <= base ? "ok" : "wrong",
         info.dli_sname ? info.dli_sname : "(null)",
         info.dli_saddr == NULL ? "NULL" : info.dli_saddr == addr ? "== addr" : "< addr");
}

int main(void) {
  void *h = dlopen("libshapes.so", RTLD_NOW);
  void *area = dlsym(h, "shape_area");
  void *perim = dlsym(h, "shape_perimeter");
  int *count = (int *)dlsym(h, "shape_count");
  int *table = (int *)dlsym(h, "shape_table");
  int (*(*get)(void))(int) = (int (*(*)(void))(int))dlsym(h, "shape_get_helper");
  show("shape_area", area, h);
  show("shape_perimeter", perim, h);
  show("shape_count", count, h);
  show("shape_table", table, h);
  show("&shape_table[5]", &table[5], h);
  show("static helper", (void *)get(), h);
  show("main's function", (void *)local_fn, h);
  show("main's data", &local_data, h);
  dlclose(h);
  show("shape_area after dlclose", area, h);
  return 0;
}
