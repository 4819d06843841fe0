/* Longjmps for its caller, and catches a longjmp of a callback. */
#include <setjmp.h>
#include <stdio.h>

void jump_jump(jmp_buf b, int v)
{
    printf("libjump: longjmp(%d)\n", v);
    longjmp(b, v);
}

int jump_catch(void (*cb)(jmp_buf, int))
{
    jmp_buf here;
    int r = setjmp(here);
    if (r == 0) {
        printf("libjump: setjmp returned 0, calling back\n");
        cb(here, 7);
        printf("libjump: not reached\n");
    }
    return r;
}
