/* The strong definition of `shared_name`, which libflags.so defines weakly. */
int shared_name(void) { return 20; }
