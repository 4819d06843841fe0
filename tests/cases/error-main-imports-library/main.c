#include <stdio.h>
int lib_value(void); /* defined by lib.so */
int main(void)
{
    printf("lib_value() = %d\n", lib_value());
    return 0;
}
