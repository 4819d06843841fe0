/* main calls no dl* function: only the library it is linked against does. */
#include <stdio.h>
int loader_run(void);
int main(void)
{
    printf("main: loader_run() = %d\n", loader_run());
    return 0;
}
