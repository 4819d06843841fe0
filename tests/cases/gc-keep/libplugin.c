/* Opened with dlopen and nothing imports from it: every export stays, found by dlsym alone. */
static int plugin_helper(int x) { return x - 3; }
int plugin_only_dlsym(int x) { return plugin_helper(x) * 10; }
