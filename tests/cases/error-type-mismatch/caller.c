int shared_fn(int a);
int call(void) { return shared_fn(1); }
