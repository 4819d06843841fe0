#include <stdio.h>

int shared_counter = 5;
__attribute__((weak)) const char *who(void) { return "plug"; }

void plug_report(const int *mains) {
  shared_counter++;
  printf("plug: who() = %s, shared_counter = %d, &shared_counter is main's: %s\n", who(),
         shared_counter, &shared_counter == mains ? "yes" : "no");
}
