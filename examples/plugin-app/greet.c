/* libgreet.so: a plugin that main opens with dlopen.
 * Uses libc from main (printf, malloc, strlen, snprintf, toupper, fputs on the data symbol `stdout`),
 * a function of libother.so (other_twice), has data main reads and writes (greet_count), and hands out
 * a pointer to one of its own functions (greet_shout). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int other_twice(int x); /* defined in libother.so */

int greet_count = 0;
const char greet_prefix[] = "Hello";

/* Returns a malloc'd "Hello, <name>!" that the caller frees. */
char *greet(const char *name) {
  greet_count++;
  size_t n = strlen(greet_prefix) + strlen(name) + 4;
  char *buf = malloc(n);
  if (!buf) return NULL;
  snprintf(buf, n, "%s, %s!", greet_prefix, name);
  printf("libgreet: greet(\"%s\") call %d\n", name, greet_count);
  return buf;
}

/* Prints its argument upper-cased through fputs(stdout) and returns its length. */
int greet_shout(const char *s) {
  char buf[64];
  size_t i = 0;
  for (; s[i] && i < sizeof buf - 2; i++) buf[i] = (char)toupper((unsigned char)s[i]);
  buf[i++] = '!';
  buf[i] = 0;
  fputs("libgreet: ", stdout);
  fputs(buf, stdout);
  fputs("\n", stdout);
  return (int)strlen(s);
}

typedef int (*shout_fn)(const char *);

/* A function pointer to this library's own function (a GOT.func import of the library). */
shout_fn greet_get_shout(void) { return greet_shout; }

/* Calls into the other library. */
int greet_twice_via_other(int x) { return other_twice(x) + 1; }
