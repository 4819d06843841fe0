/* main calls a library function without being linked against the library (`--allow-undefined`:
 * an `env.lib_value` import and no NEEDED entry). The composer binds it to the first library
 * that defines it, and loads that library before main runs. */
#include <stdio.h>
int lib_value(void); /* defined by libprovides.so */
int main(void)
{
    printf("lib_value() = %d\n", lib_value());
    return 0;
}
