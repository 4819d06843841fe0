/* The library main is linked against. */
int lib_counter = 40;
int lib_value(void) { return 42; }
/* The library's own idea of &lib_value and &lib_counter (through its GOT). */
void *lib_value_address(void) { return (void *)lib_value; }
int *lib_counter_address(void) { return &lib_counter; }
