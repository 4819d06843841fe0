int three_add(int a, int b);
static int cube(int x) { return x * x * x; }
/* A function whose address the library takes: a slot of its own table range. */
int (*two_pick(void))(int) { return cube; }
int two_apply(int (*cb)(int), int x) { return three_add(cb(x), 2); }
