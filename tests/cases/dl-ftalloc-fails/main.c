/* Main's ftalloc fails (or answers a range wasm-dl cannot use): that dlopen returns NULL with a
 * dlerror message, the ranges it got for other libraries of its load set go back through
 * ftfree, nothing of it remains, and the program goes on. */
#include <dlfcn.h>
#include <stdio.h>
#include <wasm-dl/ftalloc.h>

static size_t table_grow(size_t n) {
  size_t r;
  __asm__ volatile("ref.null_func\n\tlocal.get %1\n\ttable.grow __indirect_function_table\n\t"
                   "local.set %0" : "=r"(r) : "r"(n));
  return r;
}
static size_t table_size(void) {
  size_t r;
  __asm__ volatile("table.size __indirect_function_table\n\tlocal.set %0" : "=r"(r));
  return r;
}

/* A bump allocator that can be told to fail. */
enum { OK, FAIL_SECOND, PAST_THE_END, ZERO } mode;
static int calls, outstanding, freed;

size_t ftalloc(size_t count, size_t align) {
  calls++;
  if (mode == FAIL_SECOND && calls == 2) return FTALLOC_FAILED;
  if (mode == PAST_THE_END) return table_size(); /* the table was not grown */
  if (mode == ZERO) return 0;                     /* slot 0 is NULL */
  size_t size = table_size();
  size_t a = (size + align - 1) & ~(align - 1);
  if (table_grow(a - size + count) != size) return FTALLOC_FAILED;
  outstanding++;
  return a;
}

void ftfree(size_t first, size_t count) {
  (void)first;
  (void)count;
  outstanding--;
  freed++;
}

static void try_two(const char *what) {
  calls = freed = 0;
  void *h = dlopen("libtwo.so", RTLD_NOW);
  printf("%s: dlopen(libtwo.so) -> %s\n", what, h ? "handle" : dlerror());
  printf("  ftalloc calls %d, given back %d; libtwo loaded: %s, libthree loaded: %s\n", calls,
         freed, dlopen("libtwo.so", RTLD_NOW | RTLD_NOLOAD) ? "yes" : "no",
         dlopen("libthree.so", RTLD_NOW | RTLD_NOLOAD) ? "yes" : "no");
}

int main(void) {
  void *s = dlopen("libsmall.so", RTLD_NOW);
  int (*small)(void) = (int (*)(void))dlsym(s, "small_fn");
  printf("small_fn() = %d\n", small());
  mode = FAIL_SECOND;
  try_two("ftalloc fails for the second library");
  mode = PAST_THE_END;
  try_two("ftalloc answers slots past the table");
  mode = ZERO;
  try_two("ftalloc answers slot 0");
  mode = OK;
  try_two("ftalloc works again");
  int (*apply)(int) = (int (*)(int))dlsym(dlopen("libtwo.so", RTLD_NOW), "two_apply");
  printf("two_apply(5) = %d, small_fn() = %d, ranges outstanding %d\n", apply(5), small(),
         outstanding);
  return 0;
}
