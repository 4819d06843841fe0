int x(void);
int top(void) { return x(); }
