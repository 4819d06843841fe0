/* A function whose address is taken gives the library table slots of its own, which come
 * before its exported functions' slots; top_second is not at offset 0 of its data. */
static int helper(void) { return 7; }
int (*top_ptr)(void) = helper;
int top_data = 11;
int shared_name(void) { return 1; }
int top_only(void) { return 4; }
int top_second = 12;
