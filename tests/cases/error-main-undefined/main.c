/* main calls a function no library defines. */
#include <stdio.h>
int nowhere_fn(int);
int main(void) { printf("%d\n", nowhere_fn(1)); return 0; }
