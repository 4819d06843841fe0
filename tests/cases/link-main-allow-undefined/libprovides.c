/* The library defines a function the main module calls directly (main is linked against it, as a
 * qjs linked against a shared libqjs.so calls JS_NewRuntime). */
int lib_value(void) { return 42; }
/* Its own idea of &lib_value (through its GOT). */
void *lib_value_address(void) { return (void *)lib_value; }
