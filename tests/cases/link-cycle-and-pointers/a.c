int b_step(int n);
extern int b_shared;
/* a_count(n) = b_step(n) which calls back a_count(n - 1): a cycle between the libraries. */
int a_count(int n) { return n <= 0 ? 0 : 1 + b_step(n); }
void *a_addr_of_b_step(void) { return (void *)b_step; }
int a_read_b_shared(void) { return b_shared; }
