/* The library libnear.so needs: prelinked (loaded before main runs, at a memory base fixed at
 * compose time, its data part of the memory's initial image). Its arrays hold long runs of
 * zeros between values, and a large .bss, which the composer leaves out of the image. */
#include <stdio.h>
int far_value = 7;
int far_sparse[3000] = {[0] = 1, [1500] = 2, [2999] = 3};
int far_big[8192];
int far_twice(int x) { return 2 * x; }
/* libfar's own pointer to its function: the same address as every other pointer to it. */
int (*far_fn)(int) = far_twice;
int far_big_sum(void)
{
    int s = 0;
    for (int i = 0; i < 8192; i++)
        s += far_big[i];
    return s;
}
__attribute__((constructor)) static void far_init(void)
{
    far_big[8191] = 5;
    printf("libfar: constructor (far_value = %d, far_sparse[1500] = %d)\n", far_value,
           far_sparse[1500]);
}
