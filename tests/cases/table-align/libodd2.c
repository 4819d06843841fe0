/* Takes an odd number of table slots (3 elements + 1 exported function), so that what comes
 * after it is not aligned by chance. */
static int a(void) { return 1; }
static int b(void) { return 2; }
static int c(void) { return 3; }
int (*odd_fns[3])(void) = {a, b, c};
int odd_sum(void) { return odd_fns[0]() + odd_fns[1]() + odd_fns[2](); }
