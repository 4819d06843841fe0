/* Each library exports an entry point with the same name, as every QuickJS native module does with
 * js_init_module (and Apache/GIMP/... plugins with theirs). The main module looks it up per handle. */
const char *module_init(void) { return "b"; }
