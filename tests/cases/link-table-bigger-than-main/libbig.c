/* Eight address-taken functions: wasm-ld gives the library `(import "env" "__indirect_function_table"
 * (table 8 funcref))` (and MEM_INFO tablesize 8). libqjs.so (QuickJS built as a library) has 571. */
static int f0(void) { return 0; }
static int f1(void) { return 1; }
static int f2(void) { return 2; }
static int f3(void) { return 3; }
static int f4(void) { return 4; }
static int f5(void) { return 5; }
static int f6(void) { return 6; }
static int f7(void) { return 7; }
int (*const table[8])(void) = {f0, f1, f2, f3, f4, f5, f6, f7};
int sum(void)
{
    int s = 0;
    for (int i = 0; i < 8; i++)
        s += table[i]();
    return s;
}
