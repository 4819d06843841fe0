int a_global_fn(int x) { return x + 1000; }
int a_global_data = 77;
