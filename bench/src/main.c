/* The benchmark's main program, built twice from this one source:
 *   - for wasm-dl: a non-PIC wasip1 command (include/dlfcn.h imports dl* from `wasm-dl`);
 *   - for wasm-tools component link: a `-shared` PIC module with wasip2's crt1-command.o, whose
 *     dlopen/dlsym come from wasm-tools' built-in libdl (-DWASM_TOOLS).
 *
 *   main start             dlopen("lib0.so"), dlsym("l0_f0"), call it once, print "ok N"
 *   main dlsym NSYMS ITERS time ITERS dlsym calls over l0_f0..l0_f{NSYMS-1}, print "dlsym_ns X"
 *   main dlsym-first NSYMS time the first dlsym of each of l0_f1..l0_f{NSYMS-1} (one call per
 *                          name; l0_f0 was looked up at the start), print "dlsym_first_ns X"
 *   main call ITERS        time ITERS calls through the dlsym'ed l0_f0 and through a pointer to
 *                          main's own identical function, print "call_dl_ns X" "call_local_ns Y"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef WASM_TOOLS
void *dlopen(const char *name, int flags);
void *dlsym(void *handle, const char *name);
#define RTLD_NOW 2
#else
#include <dlfcn.h>
#endif

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The same body as the synthetic l0_f0: x + (the i32 at the start of its data). */
int main_d0 = 1;
__attribute__((noinline)) int local_f0(int x) { return x + main_d0; }

typedef int (*fn)(int);

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "start";
  void *h = dlopen("lib0.so", RTLD_NOW);
  if (!h) {
    puts("dlopen failed");
    return 1;
  }
  fn f = (fn)dlsym(h, "l0_f0");
  if (!f) {
    puts("dlsym failed");
    return 1;
  }
  if (strcmp(mode, "start") == 0) {
    printf("ok %d\n", f(1));
    return 0;
  }
  if (strcmp(mode, "dlsym") == 0 && argc > 3) {
    int nsyms = atoi(argv[2]);
    long iters = atol(argv[3]);
    char **names = malloc(sizeof(char *) * nsyms);
    for (int k = 0; k < nsyms; k++) {
      names[k] = malloc(24);
      snprintf(names[k], 24, "l0_f%d", k);
    }
    long found = 0;
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      /* a stride coprime to nsyms so that consecutive lookups hit different names */
      found += dlsym(h, names[(i * 7919) % nsyms]) != 0;
    }
    long long t1 = now_ns();
    printf("found %ld\ndlsym_ns %.2f\n", found, (double)(t1 - t0) / (double)iters);
    return found == iters ? 0 : 1;
  }
  if (strcmp(mode, "dlsym-first") == 0 && argc > 2) {
    int nsyms = atoi(argv[2]);
    if (nsyms < 2) return 2;
    char **names = malloc(sizeof(char *) * nsyms);
    /* Every name but l0_f0, in a strided order (7919 is prime, so k -> k * 7919 mod NSYMS permutes them), made
     * before the clock starts. */
    for (int k = 1; k < nsyms; k++) {
      names[k] = malloc(24);
      snprintf(names[k], 24, "l0_f%d", (int)(((long)k * 7919) % nsyms));
    }
    long found = 0;
    long long t0 = now_ns();
    for (int k = 1; k < nsyms; k++) found += dlsym(h, names[k]) != 0;
    long long t1 = now_ns();
    printf("found %ld\ndlsym_first_ns %.2f\n", found, (double)(t1 - t0) / (double)(nsyms - 1));
    return found == nsyms - 1 ? 0 : 1;
  }
  if (strcmp(mode, "call") == 0 && argc > 2) {
    long iters = atol(argv[2]);
    volatile fn vf = f, vl = local_f0;
    fn pf = vf, pl = vl;
    int acc = 0;
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) acc += pf((int)i);
    long long t1 = now_ns();
    for (long i = 0; i < iters; i++) acc += pl((int)i);
    long long t2 = now_ns();
    printf("acc %d\ncall_dl_ns %.3f\ncall_local_ns %.3f\n", acc, (double)(t1 - t0) / (double)iters,
           (double)(t2 - t1) / (double)iters);
    return 0;
  }
  puts("usage: main [start | dlsym NSYMS ITERS | dlsym-first NSYMS | call ITERS]");
  return 2;
}
