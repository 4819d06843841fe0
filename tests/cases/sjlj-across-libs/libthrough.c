/* Frames between the setjmp and the longjmp: a longjmp unwinds through them. */
#include <setjmp.h>
#include <stdio.h>

int through_call(void (*f)(jmp_buf, int), jmp_buf b, int v)
{
    printf("libthrough: calling with %d\n", v);
    f(b, v);
    printf("libthrough: not reached\n");
    return -1;
}
