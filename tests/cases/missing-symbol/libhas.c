int has_one(void) { return 1; }
