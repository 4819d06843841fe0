int shared_fn(void) { return 1; }
