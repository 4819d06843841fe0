/* The library main is linked against: main calls these functions directly. */
#include <stdio.h>
int base_twice(int x);          /* libbase.so */
extern int base_calls;          /* libbase.so */
int main_hook(int x);           /* main */
static int initialised;
__attribute__((constructor)) static void value_init(void)
{
    initialised = base_twice(21);
    printf("libvalue: constructor (base_twice(21) = %d)\n", initialised);
}
int value_get(void) { return initialised; }
double value_mix(int a, long long b, double c) { return a + (double)b * c + main_hook(a); }
int value_base_calls(void) { return base_calls; }
