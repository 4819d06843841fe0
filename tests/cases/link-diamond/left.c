#include <stdio.h>
int base_value(void);
int left_value(void) { return base_value() + 1; }
__attribute__((constructor)) static void init(void) { printf("libleft: constructor (base_value=%d)\n", base_value()); }
