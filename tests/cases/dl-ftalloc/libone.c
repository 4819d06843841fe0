#include <stdio.h>
static int opens;
__attribute__((constructor)) static void init(void) { printf("libone: constructor\n"); }
/* Registered with __cxa_atexit: its list's drain function needs a table slot (from ftalloc). */
__attribute__((destructor)) static void fini(void) { printf("libone: destructor\n"); }
int one_twice(int (*cb)(int), int x) { opens++; return cb(cb(x)); }
