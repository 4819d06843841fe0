int dup(void);
int use_dup(void) { return dup(); }
