/* Function pointers to library functions are the same however they are taken: by dlsym (from
 * main, through a handle, from inside a library, again after the memo is emptied), inside the
 * library, and by another library; and they can be called. For functions whose address nothing
 * takes at compose time, the dlsym answer is the first use of the slot. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
typedef int (*fn)(int);
void *base_lookup(const char *name);
static const char *yes(int c) { return c ? "yes" : "no"; }
static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
static void where(const char *what, void *p)
{
    Dl_info info;
    if (dladdr(p, &info))
        printf("main: dladdr(%s) -> %s, %s\n", what, base(info.dli_fname),
               info.dli_sname ? info.dli_sname : "(null)");
    else
        printf("main: dladdr(%s) -> nothing\n", what);
}
int main(void)
{
    fn lazy = (fn)dlsym(RTLD_DEFAULT, "base_lazy");
    printf("main: base_lazy(1) through dlsym = %d\n", lazy ? lazy(1) : -1);
    fn from_lib = (fn)base_lookup("base_lazy");
    printf("main: libbase's own dlsym gives the same: %s, calls: %d\n", yes(from_lib == lazy),
           from_lib ? from_lib(2) : -1);
    void *h = dlopen("libbase.so", RTLD_NOW);
    fn by_handle = (fn)dlsym(h, "base_by_handle");
    printf("main: base_by_handle(1), first looked up through its handle = %d\n",
           by_handle ? by_handle(1) : -1);
    printf("main: through its handle the same: %s\n", yes(dlsym(h, "base_lazy") == (void *)lazy));
    where("base_lazy", (void *)lazy);

    fn seen = (fn)dlsym(h, "base_seen");
    fn *seen_ptr = (fn *)dlsym(h, "base_seen_ptr");
    printf("main: base_seen: dlsym == libbase's own pointer: %s, calls: %d\n",
           yes(seen_ptr && *seen_ptr == seen), seen ? seen(1) : -1);

    void *d = dlopen("libdyn.so", RTLD_NOW | RTLD_GLOBAL);
    fn *late_ptr = d ? (fn *)dlsym(d, "dyn_late_ptr") : 0;
    fn late = (fn)base_lookup("base_late");
    printf("main: base_late: libdyn's pointer == dlsym: %s, calls: %d\n",
           yes(late_ptr && *late_ptr == late), late ? late(1) : -1);
    fn dyn_lazy = d ? (fn)dlsym(d, "dyn_lazy") : 0;
    printf("main: dyn_lazy(1) through dlsym = %d\n", dyn_lazy ? dyn_lazy(1) : -1);
    printf("main: dyn_lazy from libbase's dlsym the same: %s\n",
           yes(base_lookup("dyn_lazy") == (void *)dyn_lazy));
    where("dyn_lazy", (void *)dyn_lazy);
    fn dyn_seen = d ? (fn)dlsym(d, "dyn_seen") : 0;
    fn *dyn_seen_ptr = d ? (fn *)dlsym(d, "dyn_seen_ptr") : 0;
    printf("main: dyn_seen: dlsym == libdyn's own pointer: %s, calls: %d\n",
           yes(dyn_seen_ptr && *dyn_seen_ptr == dyn_seen), dyn_seen ? dyn_seen(1) : -1);
    /* dlopen and dlclose empty the dlsym memo: the lookups below reach the linker again. */
    printf("main: dlclose(libdyn) -> %d\n", dlclose(d));
    printf("main: base_lazy after the memo is emptied the same: %s\n",
           yes(dlsym(RTLD_DEFAULT, "base_lazy") == (void *)lazy));
    d = dlopen("libdyn.so", RTLD_NOW);
    dyn_lazy = d ? (fn)dlsym(d, "dyn_lazy") : 0;
    printf("main: libdyn opened again: dyn_lazy(2) = %d\n", dyn_lazy ? dyn_lazy(2) : -1);
    return 0;
}
