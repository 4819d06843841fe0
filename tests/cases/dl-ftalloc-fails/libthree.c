#include <stdio.h>
__attribute__((constructor)) static void init(void) { printf("libthree: constructor\n"); }
int three_add(int a, int b) { return a + b; }
