#include <stdio.h>

int ref_run(void);

int main(void) {
  printf("ref_run() = %d\n", ref_run());
  return 0;
}
