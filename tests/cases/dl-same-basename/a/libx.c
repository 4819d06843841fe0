const char *x_dir(void) { return "a"; }
