int plain_fn(int x) { return x + 1; }
