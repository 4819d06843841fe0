int never_defined(int);
int works(void) { return 42; }
int broken(void) { return never_defined(1); }
