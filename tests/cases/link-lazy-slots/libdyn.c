/* dlopen'ed (placed at run time): the same rule for its own slots, and a pointer into the
 * prelinked libbase.so that only it takes. */
int base_late(int x);
int (*dyn_late_ptr)(int) = base_late;
int dyn_lazy(int x) { return 10 * x; }
int dyn_seen(int x) { return 20 * x; }
int (*dyn_seen_ptr)(int) = dyn_seen;
