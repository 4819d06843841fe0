/* main declares the library's function with another type than the library defines it. */
#include <stdio.h>
long long value(double);
int main(void) { printf("%lld\n", value(1.0)); return 0; }
