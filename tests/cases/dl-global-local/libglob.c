int glob_only(void) { return 2; }
int shared_name(void) { return 200; }
