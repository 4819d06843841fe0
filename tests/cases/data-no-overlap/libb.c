/* libb.so: 4 KiB of initialized data and 4 KiB of bss; fill() overwrites all of it, check() verifies.
 * liba.c and libb.c differ only in their initial values; each exports the same names. */
#include <stddef.h>

#define SIZE 4096
#define SEED 5
static unsigned char data[SIZE] = {SEED, SEED + 1, SEED + 2, SEED + 3};
static unsigned char bss[SIZE];

/* 1 when data and bss still hold their initial contents. */
int initial_ok(void) {
  for (size_t i = 0; i < SIZE; i++) {
    unsigned char want = i < 4 ? (unsigned char)(SEED + i) : 0;
    if (data[i] != want || bss[i] != 0) return 0;
  }
  return 1;
}

void fill(unsigned char pattern) {
  for (size_t i = 0; i < SIZE; i++) {
    data[i] = (unsigned char)(pattern ^ i);
    bss[i] = (unsigned char)(pattern + i);
  }
}

/* Number of bytes that differ from what fill(pattern) wrote. */
int check(unsigned char pattern) {
  int bad = 0;
  for (size_t i = 0; i < SIZE; i++) {
    bad += data[i] != (unsigned char)(pattern ^ i);
    bad += bss[i] != (unsigned char)(pattern + i);
  }
  return bad;
}

/* The address range of region 0 (data) or 1 (bss). */
void *region(int which, size_t *size) {
  *size = SIZE;
  return which ? (void *)bss : (void *)data;
}
