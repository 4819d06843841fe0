/* Two libraries with static data (initialized and bss), main's own static data and a malloc'd block
 * must not overlap: writing all of one never changes another. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 65536
static unsigned char main_data[4096] = {9};

typedef int (*initial_fn)(void);
typedef void (*fill_fn)(unsigned char);
typedef int (*check_fn)(unsigned char);
typedef void *(*region_fn)(int, size_t *);

struct lib {
  const char *name;
  initial_fn initial_ok;
  fill_fn fill;
  check_fn check;
  region_fn region;
};

static struct lib open_lib(const char *name) {
  struct lib l = {name};
  void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    printf("dlopen(%s) failed: %s\n", name, dlerror());
    exit(1);
  }
  l.initial_ok = (initial_fn)dlsym(h, "initial_ok");
  l.fill = (fill_fn)dlsym(h, "fill");
  l.check = (check_fn)dlsym(h, "check");
  l.region = (region_fn)dlsym(h, "region");
  if (!l.initial_ok || !l.fill || !l.check || !l.region) {
    printf("dlsym in %s failed: %s\n", name, dlerror());
    exit(1);
  }
  return l;
}

static int block_ok(const unsigned char *b, unsigned char v) {
  for (size_t i = 0; i < BLOCK; i++)
    if (b[i] != v) return 0;
  return 1;
}

static const char *yes(int ok) { return ok ? "yes" : "no"; }

int main(void) {
  struct lib a = open_lib("liba.so"), b = open_lib("libb.so");
  printf("liba initial data intact: %s\n", yes(a.initial_ok()));
  printf("libb initial data intact: %s\n", yes(b.initial_ok()));
  printf("liba and libb fill differ: %s\n", yes(a.fill != b.fill));

  /* No two regions overlap: liba data/bss, libb data/bss, main's data, a malloc'd block. */
  unsigned char *block = malloc(BLOCK);
  uintptr_t lo[6], hi[6];
  for (int i = 0; i < 4; i++) {
    size_t size;
    void *p = (i < 2 ? a : b).region(i % 2, &size);
    lo[i] = (uintptr_t)p;
    hi[i] = lo[i] + size;
  }
  lo[4] = (uintptr_t)main_data, hi[4] = lo[4] + sizeof main_data;
  lo[5] = (uintptr_t)block, hi[5] = lo[5] + BLOCK;
  int disjoint = 1;
  for (int i = 0; i < 6; i++)
    for (int j = i + 1; j < 6; j++)
      if (lo[i] < hi[j] && lo[j] < hi[i]) disjoint = 0;
  printf("regions disjoint: %s\n", yes(disjoint));

  a.fill(0xA5);
  b.fill(0x5A);
  printf("after fill A then B: liba ok %s, libb ok %s\n", yes(a.check(0xA5) == 0), yes(b.check(0x5A) == 0));

  memset(block, 0xEE, BLOCK);
  memset(main_data, 0x77, sizeof main_data);
  printf("after malloc+memset: liba ok %s, libb ok %s\n", yes(a.check(0xA5) == 0), yes(b.check(0x5A) == 0));

  a.fill(0x11);
  int main_ok = 1;
  for (size_t i = 0; i < sizeof main_data; i++) main_ok &= main_data[i] == 0x77;
  printf("after refill A: liba ok %s, libb ok %s, block ok %s, main data ok %s\n", yes(a.check(0x11) == 0),
         yes(b.check(0x5A) == 0), yes(block_ok(block, 0xEE)), yes(main_ok));
  free(block);
  return 0;
}
