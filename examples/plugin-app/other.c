/* libother.so: a second library, opened by main with RTLD_GLOBAL before libgreet.so, whose functions
 * libgreet.so also calls. Has a constructor, which runs when it is first opened. */
#include <stdio.h>

const char other_label[] = "other";
static int ready;

__attribute__((constructor)) static void other_init(void) {
  ready = 1;
  printf("libother: constructor\n");
}

int other_twice(int x) { return ready ? 2 * x : -1; }
