/* Only dlopen'ed (not linked against): placed at run time, its data relocated into the
 * prelinked libfar.so. */
extern int far_value;
int *plug_ptr = &far_value;
int far_twice(int x);
extern int (*far_fn)(int);
/* A function pointer into the prelinked libfar.so, relocated at run time. */
int (*plug_fn)(int) = far_twice;
int plug_check(void)
{
    if (plug_fn != far_fn || plug_fn(1) != 2)
        return -3;
    return plug_ptr == &far_value ? *plug_ptr : -1;
}
