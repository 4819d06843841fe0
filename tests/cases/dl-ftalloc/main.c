/* A main module with its own function-table allocator (include/wasm-dl/ftalloc.h): a free list
 * of slot ranges over a table it grows itself. It installs and removes function pointers of its
 * own before and after dlopen/dlclose, and every table range wasm-dl takes comes from ftalloc:
 * the table grows only here, ranges never overlap, every pointer stays callable and distinct,
 * slots are reused, and dlclose gives a library's range back through ftfree. */
#include <dlfcn.h>
#include <stdio.h>
#include <wasm-dl/ftalloc.h>

/* The table, through inline assembly: C has no syntax for __indirect_function_table. */
static size_t table_size(void) {
  size_t r;
  __asm__ volatile("table.size __indirect_function_table\n\tlocal.set %0" : "=r"(r));
  return r;
}
static size_t table_grow(size_t n) {
  size_t r;
  __asm__ volatile("ref.null_func\n\tlocal.get %1\n\ttable.grow __indirect_function_table\n\t"
                   "local.set %0" : "=r"(r) : "r"(n));
  return r;
}
static void table_copy(size_t to, size_t from) {
  __asm__ volatile("local.get %0\n\tlocal.get %1\n\ttable.get __indirect_function_table\n\t"
                   "table.set __indirect_function_table" :: "r"(to), "r"(from));
}
static void table_clear(size_t at) {
  __asm__ volatile("local.get %0\n\tref.null_func\n\ttable.set __indirect_function_table"
                   :: "r"(at));
}
static int table_is_null(size_t at) {
  int r;
  __asm__ volatile("local.get %1\n\ttable.get __indirect_function_table\n\tref.is_null\n\t"
                   "local.set %0" : "=r"(r) : "r"(at));
  return r;
}

/* The allocator. */
#define MAX 64
struct range { size_t first, count; };
static struct range free_list[MAX]; /* sorted, coalesced */
static int n_free;
static struct range live[MAX];      /* handed out (to main's own code or to wasm-dl) */
static int n_live;
static size_t start_size, grown;    /* the table at the first allocation; what we added */
static int started, faults;

static void fault(const char *what) { printf("FAULT: %s\n", what); faults++; }

static void add_free(size_t first, size_t count) {
  int i = 0;
  while (i < n_free && free_list[i].first < first) i++;
  for (int k = n_free; k > i; k--) free_list[k] = free_list[k - 1];
  free_list[i] = (struct range){first, count};
  n_free++;
  if (i + 1 < n_free && first + count == free_list[i + 1].first) {
    free_list[i].count += free_list[i + 1].count;
    for (int k = i + 1; k + 1 < n_free; k++) free_list[k] = free_list[k + 1];
    n_free--;
  }
  if (i > 0 && free_list[i - 1].first + free_list[i - 1].count == free_list[i].first) {
    free_list[i - 1].count += free_list[i].count;
    for (int k = i; k + 1 < n_free; k++) free_list[k] = free_list[k + 1];
    n_free--;
  }
}

static void mark_live(size_t first, size_t count) {
  for (int i = 0; i < n_live; i++)
    if (first < live[i].first + live[i].count && live[i].first < first + count)
      fault("a range handed out twice");
  live[n_live++] = (struct range){first, count};
}

static void mark_free(size_t first, size_t count) {
  for (int i = 0; i < n_live; i++)
    if (live[i].first == first && live[i].count == count) {
      live[i] = live[--n_live];
      add_free(first, count);
      return;
    }
  fault("freeing a range that is not handed out");
}

static size_t take(size_t count, size_t align) {
  if (!started) { start_size = table_size(); started = 1; }
  if (table_size() != start_size + grown) fault("someone else grew the table");
  for (int i = 0; i < n_free; i++) {
    size_t f = free_list[i].first, end = f + free_list[i].count;
    size_t a = (f + align - 1) & ~(align - 1);
    if (a + count <= end) {
      free_list[i].count = a - f;
      if (a + count < end) add_free(a + count, end - (a + count));
      if (free_list[i].count == 0) {
        for (int k = i; k + 1 < n_free; k++) free_list[k] = free_list[k + 1];
        n_free--;
      }
      mark_live(a, count);
      return a;
    }
  }
  size_t size = table_size();
  size_t a = (size + align - 1) & ~(align - 1);
  if (table_grow(a - size + count) != size) return FTALLOC_FAILED;
  grown += a - size + count;
  if (a > size) add_free(size, a - size);
  mark_live(a, count);
  return a;
}

/* What wasm-dl asked for. */
static struct range given[MAX];
static int n_given, n_freed;

size_t ftalloc(size_t count, size_t align) {
  size_t first = take(count, align);
  if (first != FTALLOC_FAILED) given[n_given++] = (struct range){first, count};
  return first;
}

void ftfree(size_t first, size_t count) {
  for (size_t s = first; s < first + count; s++)
    if (!table_is_null(s)) fault("ftfree of slots that are not NULL");
  mark_free(first, count);
  n_freed++;
}

/* Main's own function pointers, installed into slots of its own. */
typedef int (*fn)(int);
static fn install(fn f) {
  size_t slot = take(1, 1);
  table_copy(slot, (size_t)f);
  return (fn)slot;
}
static void uninstall(fn p) {
  table_clear((size_t)p);
  mark_free((size_t)p, 1);
}

static int add1(int x) { return x + 1; }
static int dbl(int x) { return 2 * x; }
static int neg(int x) { return -x; }
static int sq(int x) { return x * x; }

static int in_given(void *p, int from) {
  for (int i = from; i < n_given; i++)
    if ((size_t)p >= given[i].first && (size_t)p < given[i].first + given[i].count) return 1;
  return 0;
}

static int distinct(fn *ps, int n) {
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (ps[i] == ps[j]) return 0;
  return 1;
}

static const char *yes(int b) { return b ? "yes" : "no"; }

int main(void) {
  fn a = install(add1), b = install(dbl);
  printf("main: installed a(1) = %d, b(3) = %d\n", a(1), b(3));

  int before = n_given;
  void *one = dlopen("libone.so", RTLD_NOW);
  if (!one) { printf("dlopen libone.so: %s\n", dlerror()); return 1; }
  int (*one_twice)(fn, int) = (int (*)(fn, int))dlsym(one, "one_twice");
  printf("main: libone took %d range(s) from ftalloc (its slots, its destructor list)\n",
         n_given - before);
  printf("main: one_twice is in a range ftalloc gave: %s\n", yes(in_given(one_twice, before)));
  printf("main: one_twice(a, 5) = %d, one_twice(b, 5) = %d\n", one_twice(a, 5), one_twice(b, 5));

  size_t a_slot = (size_t)a;
  uninstall(a);
  fn c = install(neg);
  printf("main: removed a, installed c in its slot: %s; c(4) = %d\n", yes((size_t)c == a_slot),
         c(4));

  before = n_given;
  void *two = dlopen("libtwo.so", RTLD_NOW);
  if (!two) { printf("dlopen libtwo.so: %s\n", dlerror()); return 1; }
  int (*two_apply)(fn, int) = (int (*)(fn, int))dlsym(two, "two_apply");
  fn (*two_pick)(void) = (fn (*)(void))dlsym(two, "two_pick");
  int (*three_add)(int, int) = (int (*)(int, int))dlsym(two, "three_add");
  printf("main: libtwo and libthree took %d range(s)\n", n_given - before);
  printf("main: their functions are in ranges ftalloc gave: %s %s %s\n",
         yes(in_given(two_apply, before)), yes(in_given(two_pick(), before)),
         yes(in_given(three_add, before)));
  printf("main: two_apply(c, 3) = %d, two_pick()(7) = %d, three_add(2, 3) = %d\n",
         two_apply(c, 3), two_pick()(7), three_add(2, 3));

  fn d = install(sq);
  fn all[] = {b, c, d, (fn)one_twice, (fn)two_apply, two_pick(), (fn)three_add};
  printf("main: all pointers distinct: %s; b(2) c(2) d(2) = %d %d %d\n",
         yes(distinct(all, 7)), b(2), c(2), d(2));

  struct range one_range = given[0];
  printf("main: dlclose(libone) = %d\n", dlclose(one));
  printf("main: ftfree calls: %d; libone's slots are NULL: %s\n", n_freed,
         yes(table_is_null(one_range.first)));
  fn e = install(add1);
  printf("main: installed e in libone's old range: %s; e(9) = %d\n",
         yes((size_t)e >= one_range.first && (size_t)e < one_range.first + one_range.count),
         e(9));

  before = n_given;
  one = dlopen("libone.so", RTLD_NOW);
  one_twice = (int (*)(fn, int))dlsym(one, "one_twice");
  printf("main: libone again: %d new range(s); one_twice(e, 1) = %d\n", n_given - before,
         one_twice(e, 1));
  fn all2[] = {b, c, d, e, (fn)one_twice, (fn)two_apply, two_pick(), (fn)three_add};
  printf("main: all pointers distinct: %s; still callable: %d %d %d %d %d\n",
         yes(distinct(all2, 8)), b(1), c(1), d(3), e(1), two_apply(d, 3));

  dlclose(two);
  dlclose(one);
  uninstall(b);
  uninstall(c);
  uninstall(d);
  uninstall(e);
  printf("main: ranges given to wasm-dl %d, given back %d, still handed out %d\n", n_given,
         n_freed, n_live);
  printf("main: table grown only by main's allocator: %s; faults: %d\n",
         yes(table_size() == start_size + grown), faults);
  return 0;
}
