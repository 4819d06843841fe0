/* Calls between libraries in a cycle (liba calls libb, libb calls liba), data of one library
 * used by another through GOT.mem, and function pointer equality: &f taken in a library, in
 * another library and returned by dlsym compare equal. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  void *a = dlopen("liba.so", RTLD_NOW);
  void *b = dlopen("libb.so", RTLD_NOW);
  if (!a || !b) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  int (*a_count)(int) = (int (*)(int))dlsym(a, "a_count");
  printf("a_count(5) = %d\n", a_count(5));
  void *(*a_addr)(void) = (void *(*)(void))dlsym(a, "a_addr_of_b_step");
  void *(*b_addr)(void) = (void *(*)(void))dlsym(b, "b_addr_of_b_step");
  void *sym = dlsym(b, "b_step");
  printf("&b_step equal in liba, libb and dlsym: %s\n",
         a_addr() == sym && b_addr() == sym ? "yes" : "no");
  int *shared = (int *)dlsym(b, "b_shared");
  printf("b_shared via dlsym = %d\n", *shared);
  int (*a_read)(void) = (int (*)(void))dlsym(a, "a_read_b_shared");
  *shared = 99;
  printf("liba reads b_shared = %d\n", a_read());
  return 0;
}
