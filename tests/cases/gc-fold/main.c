/* Calls through every pointer to a folded function, and compares the pointers (see libtwin.c). */
#include <dlfcn.h>
#include <stdio.h>
extern int (*const twin_table[])(int);
extern int (*const add_table[])(int);
int twin_x(int x);
int twin_table_same(void);
int twin_which(int (*f)(int));
int main(void) {
  printf("twin_table: %d %d, same pointer: %d\n", twin_table[0](3), twin_table[1](3),
         twin_table_same());
  printf("add_table: %d %d, same pointer: %d\n", add_table[0](3), add_table[1](3),
         add_table[0] == add_table[1]);
  void *h = dlopen("libtwin.so", RTLD_NOW);
  int (*x)(int) = (int (*)(int))dlsym(h, "twin_x");
  int (*y)(int) = (int (*)(int))dlsym(h, "twin_y");
  printf("twin_x(4) = %d, twin_y(4) = %d\n", x(4), y(4));
  printf("dlsym twin_x == &twin_x: %d, twin_x == twin_y: %d\n", x == twin_x, x == y);
  printf("twin_which: %d %d\n", twin_which(x), twin_which(y));
  return 0;
}
