int shared_fn(int a, int b) { return a + b; }
