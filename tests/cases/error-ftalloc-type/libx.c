int x_fn(void) { return 1; }
