/* Only dlopen'ed (not linked against): placed at run time, its data relocated into the
 * prelinked libfar.so. */
extern int far_value;
int *plug_ptr = &far_value;
int plug_check(void) { return plug_ptr == &far_value ? *plug_ptr : -1; }
