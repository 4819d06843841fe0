/* setjmp built with clang-22's default, the legacy exception-handling encoding (try/catch). */
#include <setjmp.h>
int old_catch(void (*f)(jmp_buf))
{
    jmp_buf b;
    int r = setjmp(b);
    if (r == 0)
        f(b);
    return r;
}
