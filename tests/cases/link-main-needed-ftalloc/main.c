/* A main linked against libvalue.so, with its own table allocator: the libraries it is linked
 * against are placed before _start -- before main's constructors run -- with slots from main's
 * ftalloc, which therefore works from static state alone. PLT calls and dlsym agree. */
#include <dlfcn.h>
#include <stdio.h>
#include <wasm-dl/ftalloc.h>
int value_twice(int x);

static size_t table_grow(size_t n) {
  size_t r;
  __asm__ volatile("ref.null_func\n\tlocal.get %1\n\ttable.grow __indirect_function_table\n\t"
                   "local.set %0" : "=r"(r) : "r"(n));
  return r;
}

/* volatile: else clang -O2 evaluates main_init at compile time (GlobalOpt's static constructor
 * evaluation), assuming that nothing runs before constructors. */
static volatile int calls;
static int calls_before_ctor = -1;
static size_t lo = (size_t)-1, hi;

size_t ftalloc(size_t count, size_t align) {
  size_t at = table_grow(count + align - 1);
  if (at == (size_t)-1) return FTALLOC_FAILED;
  at = (at + align - 1) & ~(align - 1);
  calls++;
  if (at < lo) lo = at;
  if (at + count > hi) hi = at + count;
  return at;
}

__attribute__((constructor)) static void main_init(void) { calls_before_ctor = calls; }

int main(void) {
  printf("main: ftalloc calls before main's constructors: %d\n", calls_before_ctor);
  printf("main: value_twice(21) = %d\n", value_twice(21));
  void *p = dlsym(RTLD_DEFAULT, "value_twice");
  printf("main: dlsym(value_twice) is in ftalloc's slots: %s, calls it: %d\n",
         (size_t)p >= lo && (size_t)p < hi ? "yes" : "no", ((int (*)(int))p)(4));
  return 0;
}
