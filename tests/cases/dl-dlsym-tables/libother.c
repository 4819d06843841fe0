int other_data[64] = {5};
int other(void) { return other_data[0]; }
