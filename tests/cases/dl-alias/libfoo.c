int foo_version(void) { return 1; }
