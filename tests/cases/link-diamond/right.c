#include <stdio.h>
int base_value(void);
int right_value(void) { return base_value() + 2; }
__attribute__((constructor)) static void init(void) { printf("libright: constructor (base_value=%d)\n", base_value()); }
