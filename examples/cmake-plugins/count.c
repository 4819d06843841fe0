// Plugin: counts the words of its input.
#include <stdio.h>

int textutil_words(const char *in);
extern int textutil_calls;

const char *plugin_name(void) { return "count"; }

int plugin_run(const char *in, char *out, int size) {
  int words = textutil_words(in);
  return snprintf(out, (size_t)size, "%d words (textutil call %d)", words, textutil_calls);
}
