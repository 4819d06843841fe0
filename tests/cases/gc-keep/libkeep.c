/* What --gc must keep in a library main is linked against (so only what some module imports,
 * or what the library itself reaches, stays): a function reachable only through a pointer
 * stored in data, a constructor's helper, a function with a weak import; and what it may
 * remove: an export nobody imports and a static function only that export calls. */
#include <stdio.h>

static int via_pointer(int x) { return x * 7; }
/* Reachable only through this table in data (its address is in the element segment). */
int (*const keep_table[])(int) = {via_pointer};

int keep_call_table(int i, int x) { return keep_table[i](x); }

static void ctor_helper(void) { printf("libkeep: constructor helper\n"); }
__attribute__((constructor)) static void keep_init(void) { ctor_helper(); }

/* No module defines it: it stays unresolved (0), and the function testing it stays. */
extern int keep_maybe(void) __attribute__((weak));
int keep_has_maybe(void) { return keep_maybe ? keep_maybe() : -1; }

/* Imported by libother.so only. */
int keep_shared(int x) { return x + 1; }

/* Nobody imports these and libkeep.so is not dlopen-able: --gc removes them. */
__attribute__((noinline)) static int only_unused_calls(int x) { return x * x * x + 12345; }
int keep_unused(int x) { return only_unused_calls(x) + 1; }
int keep_unused_too(int x) { return only_unused_calls(x) - 1; }
