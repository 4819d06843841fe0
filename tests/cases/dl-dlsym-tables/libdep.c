int dep_data = 33;
int shared_name(void) { return 2; }
int dep_only(void) { return 3; }
