/* A library libvalue.so needs: its constructor must run first. */
#include <stdio.h>
int base_calls;
__attribute__((constructor)) static void base_init(void) { printf("libbase: constructor\n"); }
int base_twice(int x) { base_calls++; return 2 * x; }
