#include <stdio.h>
__attribute__((constructor)) static void init(void) { printf("libvalue: constructor\n"); }
int value_twice(int x) { return 2 * x; }
