/* --gc folds a library's identical functions into one (lld's --icf), and each keeps its own
 * function pointer: on Linux distinct functions have distinct addresses, and so they do here.
 * gcc's -fipa-icf keeps them distinct natively the same way. */

/* Two static functions with one body, both address-taken (in the element segment). */
static int twice_a(int x) { return 2 * x + 1; }
static int twice_b(int x) { return 2 * x + 1; }
int (*const twin_table[])(int) = {twice_a, twice_b};

/* Two exports with one body: main imports the first, finds the second with dlsym. */
int twin_x(int x) { return x * x - 3; }
int twin_y(int x) { return x * x - 3; }

/* Identical once their callees are folded: they fold too. */
__attribute__((noinline)) static int add_a(int x) { return twice_a(x) + 5; }
__attribute__((noinline)) static int add_b(int x) { return twice_b(x) + 5; }
int (*const add_table[])(int) = {add_a, add_b};

int twin_table_same(void) { return twin_table[0] == twin_table[1]; }
int twin_which(int (*f)(int)) { return f == twin_x ? 1 : f == twin_y ? 2 : 0; }
