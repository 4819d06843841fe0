/* Linked against b/libx.so: its NEEDED `libx.so` is found through its RUNPATH `$ORIGIN/../b`. */
const char *x_dir(void);
const char *top_x(void) { return x_dir(); }
