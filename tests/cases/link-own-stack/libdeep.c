/* A library that uses the stack (arrays on it, recursion, a pointer to its stack passed to
 * main) while main does not export __stack_pointer: it gets a stack of its own. */
int main_sum(const int *v, int n); /* main */
static int depth(int n)
{
    volatile int buf[64];
    for (int i = 0; i < 64; i++)
        buf[i] = n + i;
    return n == 0 ? buf[5] - n : depth(n - 1) + buf[63] - buf[62];
}
int deep_run(int n)
{
    int v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i;
    return depth(n) + main_sum(v, 100);
}
