// Plugin: upper-cases its input.
int textutil_upper(const char *in, char *out, int size);

const char *plugin_name(void) { return "upper"; }

int plugin_run(const char *in, char *out, int size) { return textutil_upper(in, out, size); }
