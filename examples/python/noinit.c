/* A valid shared library that is no Python extension: it has no PyInit_noinit, so `import noinit`
 * gets as far as dlopen (which succeeds) and dlsym (which fails), and raises ImportError. */
int noinit_value(void) { return 7; }
