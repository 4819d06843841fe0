/* The library main is linked against: its data holds pointers relocated when it is placed --
 * into libfar.so, into itself, into main -- and function pointers to libfar.so and main. */
#include <stdio.h>
extern int far_value;
extern int far_sparse[];
int far_twice(int x);
extern int main_data;
int main_hook(int x);
static int near_local = 3;
int *near_ptr = &far_value;
int *near_sparse_end = &far_sparse[2999];
int (*near_fn)(int) = far_twice;
int *near_self = &near_local;
const char *near_msg = "near's string";
int *near_main = &main_data;
int (*near_main_fn)(int) = main_hook;
/* A function pointer to a hidden function: relative to libnear's own table base. */
static int near_hidden(int x) { return 1000 + x; }
int (*near_hidden_fn)(int) = near_hidden;
extern int (*far_fn)(int);
void near_fnptrs(void)
{
    printf("libnear: near_fn == far_fn: %s, near_hidden_fn(1) = %d, far_fn(6) = %d\n",
           near_fn == far_fn ? "yes" : "no", near_hidden_fn(1), far_fn(6));
}
__attribute__((constructor)) static void near_init(void)
{
    printf("libnear: constructor (*near_ptr = %d, near_fn(4) = %d)\n", *near_ptr, near_fn(4));
}
void near_check(const char *when)
{
    printf("%s: *near_ptr = %d, *near_sparse_end = %d, near_fn(5) = %d, *near_self = %d, "
           "near_msg = %s, *near_main = %d, near_main_fn(2) = %d\n",
           when, *near_ptr, *near_sparse_end, near_fn(5), *near_self, near_msg, *near_main,
           near_main_fn(2));
}
