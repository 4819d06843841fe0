/* A second prelinked library, placed after libbase.so: its bases differ from libbase's, so a
 * constant folded with the other library's base would point into the wrong one. */
static int slots[3] = {7, 8, 9};
static int negate(int x) { return -x; }
int *next_slot_addr(int i) { return &slots[i]; }
int (*next_fn(void))(int) { return negate; }
int *next_slots_ptr = slots;
