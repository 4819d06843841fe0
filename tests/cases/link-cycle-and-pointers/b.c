int a_count(int n);
int b_shared = 42;
int b_step(int n) { return 10 + a_count(n - 1); }
void *b_addr_of_b_step(void) { return (void *)b_step; }
