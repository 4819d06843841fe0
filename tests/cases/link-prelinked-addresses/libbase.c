/* Prelinked (main is linked against it): its code reaches its own static data and functions as
 * a base plus an offset (`global.get __memory_base; i32.const X; i32.add`, `__table_base`
 * likewise), which `--gc` folds into constants, the bases being fixed at compose time. main
 * compares each address the code computes with the same address got another way: a pointer in
 * the library's data (relocated at compose time), `dlsym`, `dladdr`. */
static int counter[4] = {1, 2, 3, 4};
static const char greeting[] = "hello from libbase";
static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
/* The same addresses, in data. */
int *base_counter_ptr = &counter[2];
int (*base_twice_ptr)(int) = twice;
const char *base_greeting_ptr = greeting;
int base_value = 40;

int *base_counter_addr(void) { return &counter[2]; }
int (*base_fn(int which))(int) { return which ? thrice : twice; }
const char *base_greeting(void) { return greeting; }
int *base_value_addr(void) { return &base_value; }
int base_counter_sum(void) { return counter[0] + counter[1] + counter[2] + counter[3]; }
