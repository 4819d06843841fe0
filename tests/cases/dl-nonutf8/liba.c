int a_value(void) { return 3; }
