#include <stdio.h>
int left_value(void);
int right_value(void);
int top_sum(void) { return left_value() + right_value(); }
__attribute__((constructor)) static void init(void) { printf("libtop: constructor (sum=%d)\n", top_sum()); }
