/* main is linked against libbase.so and libnext.so (both prelinked). What their code computes
 * as base + offset must be what their data, dlsym and dladdr say, as on Linux. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
int *base_counter_addr(void);
int (*base_fn(int which))(int);
const char *base_greeting(void);
int *base_value_addr(void);
int base_counter_sum(void);
int *next_slot_addr(int i);
int (*next_fn(void))(int);
static const char *yes(int c) { return c ? "yes" : "no"; }
static const char *lib_of(const void *p)
{
    Dl_info info;
    if (!dladdr(p, &info) || !info.dli_fname)
        return "(none)";
    const char *s = strrchr(info.dli_fname, '/');
    return s ? s + 1 : info.dli_fname;
}
int main(void)
{
    void *h = dlopen("libbase.so", RTLD_NOW);
    void *n = dlopen("libnext.so", RTLD_NOW);
    if (!h || !n) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    int **counter_ptr = (int **)dlsym(h, "base_counter_ptr");
    printf("counter: code == data: %s, *counter = %d, in %s\n",
           yes(counter_ptr && *counter_ptr == base_counter_addr()), *base_counter_addr(),
           lib_of(base_counter_addr()));
    *base_counter_addr() = 30;
    printf("counter: written through the code's address: sum %d\n", base_counter_sum());
    int (**twice_ptr)(int) = (int (**)(int))dlsym(h, "base_twice_ptr");
    printf("twice: code == data: %s, twice(21) = %d, thrice(5) = %d, distinct: %s\n",
           yes(twice_ptr && *twice_ptr == base_fn(0)), base_fn(0)(21), base_fn(1)(5),
           yes(base_fn(0) != base_fn(1)));
    const char **greeting_ptr = (const char **)dlsym(h, "base_greeting_ptr");
    printf("greeting: %s, code == data: %s, in %s\n", base_greeting(),
           yes(greeting_ptr && *greeting_ptr == base_greeting()), lib_of(base_greeting()));
    printf("base_value: code == dlsym: %s, %d\n",
           yes(base_value_addr() == (int *)dlsym(h, "base_value")), *base_value_addr());
    int **slots_ptr = (int **)dlsym(n, "next_slots_ptr");
    printf("next: code == data: %s, slot 1 = %d, in %s, not in libbase's data: %s\n",
           yes(slots_ptr && *slots_ptr == next_slot_addr(0)), *next_slot_addr(1),
           lib_of(next_slot_addr(2)), yes((void *)next_slot_addr(0) != (void *)base_counter_addr()));
    printf("next: negate(4) = %d, not libbase's: %s\n", next_fn()(4),
           yes(next_fn() != base_fn(0) && next_fn() != base_fn(1)));
    return 0;
}
