/* Prelinked (main is linked against it). Its function slots are filled at start only where
 * something refers to them at compose time: base_seen (its address taken here, a GOT.func
 * entry) and base_late (taken by libdyn.so, loaded later); base_lazy's address is taken
 * nowhere, so only a dlsym answer reaches its slot, which must be filled by then. */
#define _GNU_SOURCE
#include <dlfcn.h>
int base_lazy(int x) { return x + 1; }
int base_seen(int x) { return x + 2; }
int base_late(int x) { return x + 3; }
/* Looked up first through a handle (the shim's own-table path), its address taken nowhere. */
int base_by_handle(int x) { return x + 100; }
int (*base_seen_ptr)(int) = base_seen;
/* dlsym from inside a library (its own per-library wrapper). */
void *base_lookup(const char *name) { return dlsym(RTLD_DEFAULT, name); }
