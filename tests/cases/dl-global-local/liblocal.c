int local_only(void) { return 1; }
int shared_name(void) { return 100; }
