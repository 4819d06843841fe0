#include <stdio.h>
__attribute__((constructor)) static void init(void) { printf("liba: constructor\n"); }
int a_value(void) { return 1; }
