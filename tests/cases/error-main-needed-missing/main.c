/* main is linked against libgone.so, which is not given to compose. */
#include <stdio.h>
int gone(void);
int main(void) { printf("%d\n", gone()); return 0; }
