int base_value(void);
int top(void) { return base_value(); }
