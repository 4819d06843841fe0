int top_data = 11;
int shared_name(void) { return 1; }
int top_only(void) { return 4; }
