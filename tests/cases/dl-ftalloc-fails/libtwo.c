#include <stdio.h>
int three_add(int a, int b);
__attribute__((constructor)) static void init(void) { printf("libtwo: constructor\n"); }
int two_apply(int x) { return three_add(x, 2); }
