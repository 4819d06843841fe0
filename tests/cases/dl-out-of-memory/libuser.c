/* Needs libhuge.so: its dlopen fails as a whole, and libsmall.so (also needed) is not kept. */
int huge_fn(void);
int small_fn(void);
int user_fn(void) { return huge_fn() + small_fn(); }
