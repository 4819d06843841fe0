#include <stdio.h>
__attribute__((constructor)) static void plugin_init(void) { printf("libplugin: constructor\n"); }
__attribute__((destructor)) static void plugin_fini(void) { printf("libplugin: destructor\n"); }
const char *plugin_name(void) { return "plugin"; }
