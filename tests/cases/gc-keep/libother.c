/* Linked against libkeep.so and imports one of its functions, not `keep_unused`: the
 * composition stays error-free when --gc removes that export. */
int keep_shared(int x);
int other_twice_shared(int x) { return 2 * keep_shared(x); }
