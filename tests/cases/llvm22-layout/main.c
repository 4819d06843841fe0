/* LLVM 22 output (libnorel22.so, librel22.so, kept as WAT) composed with clang-19 output
 * (librel19.so). lld 22 omits `__wasm_apply_data_relocs` when there are no data relocations
 * (libnorel22), exports it last otherwise (librel22), and zeroes .bss with `memory.fill` in a
 * start function `__wasm_init_memory` (both; librel22 runs it from `__wasm_start` together with
 * `__wasm_apply_global_relocs`). lld 19 writes .bss as zero bytes and always exports
 * `__wasm_apply_data_relocs` (librel19). */
#include <dlfcn.h>
#include <stdio.h>

static void *open_lib(const char *name) {
  void *h = dlopen(name, RTLD_NOW);
  if (!h) printf("dlopen %s: %s\n", name, dlerror());
  return h;
}

int main(void) {
  void *norel = open_lib("libnorel22.so");
  void *rel22 = open_lib("librel22.so");
  void *rel19 = open_lib("librel19.so");
  if (!norel || !rel22 || !rel19) return 1;

  int (*bump)(void) = (int (*)(void))dlsym(norel, "norel_bump");
  void (*norel_report)(void) = (void (*)(void))dlsym(norel, "norel_report");
  int *zeros = (int *)dlsym(norel, "zeros");
  int *counter = (int *)dlsym(norel, "counter");
  printf("norel_bump() = %d\n", bump());
  norel_report();
  printf("main sees counter=%d zeros[63]=%d\n", *counter, zeros[63]);
  printf("norel22 exports __wasm_apply_data_relocs: %s\n",
         dlsym(norel, "__wasm_apply_data_relocs") ? "yes" : "no");

  void (*rel_report)(void) = (void (*)(void))dlsym(rel22, "rel_report");
  int *scratch = (int *)dlsym(rel22, "rel_scratch");
  int **scratch_end = (int **)dlsym(rel22, "rel_scratch_end");
  rel_report();
  printf("rel_scratch_end == &rel_scratch[31]: %s\n", *scratch_end == &scratch[31] ? "yes" : "no");

  void (*rel19_report)(void) = (void (*)(void))dlsym(rel19, "rel19_report");
  rel19_report();
  rel19_report();

  printf("dlclose(librel22.so) = %d\n", dlclose(rel22));
  return 0;
}
