const char *x_dir(void) { return "c"; }
