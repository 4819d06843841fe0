/* noinit.so: a shared library that is not a QuickJS module (no js_init_module), so the loader's
 * error path runs: dlopen succeeds, dlsym fails, dlclose. */
int noinit_answer(void)
{
    return 42;
}
