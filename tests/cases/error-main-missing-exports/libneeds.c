#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void needs_say(const char *s) {
  char *copy = malloc(strlen(s) + 1);
  strcpy(copy, s);
  printf("%s\n", copy);
  free(copy);
}
