// Shared by both plugins: a library they are linked against, loaded (constructor first) with
// the first plugin that needs it, once.
#include <ctype.h>
#include <stdio.h>

int textutil_calls;

__attribute__((constructor)) static void textutil_init(void) { printf("textutil: loaded\n"); }

int textutil_upper(const char *in, char *out, int size) {
  int n = 0;
  textutil_calls++;
  for (; in[n] && n + 1 < size; n++)
    out[n] = (char)toupper((unsigned char)in[n]);
  out[n] = 0;
  return n;
}

int textutil_words(const char *in) {
  int words = 0, inside = 0;
  textutil_calls++;
  for (; *in; in++) {
    if (isspace((unsigned char)*in))
      inside = 0;
    else if (!inside)
      inside = 1, words++;
  }
  return words;
}
