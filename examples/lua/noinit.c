/* A library without luaopen_noinit: `require "noinit"` finds noinit.so, dlopen succeeds and
 * dlsym fails, and loadlib.c reports dlerror()'s message. */
int noinit_answer(void)
{
    return 42;
}
