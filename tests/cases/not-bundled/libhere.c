int here(void) { return 7; }
