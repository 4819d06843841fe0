#include <stdio.h>
int base_ctor_runs;
int base_value(void) { return 10; }
__attribute__((constructor)) static void init(void) {
  base_ctor_runs++;
  puts("libbase: constructor");
}
