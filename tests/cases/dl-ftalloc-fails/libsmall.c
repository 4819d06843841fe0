int small_fn(void) { return 3; }
