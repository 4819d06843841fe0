#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  void *odd = malloc(24); /* move the heap off any round address */
  void *small = dlopen("libsmall.so", RTLD_NOW);
  void *p1 = dlopen("libpage.so", RTLD_NOW);
  void *p2 = dlopen("libpage2.so", RTLD_NOW);
  if (!odd || !small || !p1 || !p2) {
    printf("setup failed: %s\n", dlerror());
    return 1;
  }
  char *page = (char *)dlsym(p1, "page");
  uintptr_t (*addr1)(void) = (uintptr_t (*)(void))dlsym(p1, "page_address");
  int *page2 = (int *)dlsym(p2, "page2");
  char *line = (char *)dlsym(p2, "line");
  uintptr_t (*addr2)(void) = (uintptr_t (*)(void))dlsym(p2, "page2_address");
  printf("page %% 4096 = %u, same address in the library: %s, contents \"%s\"\n",
         (unsigned)((uintptr_t)page % 4096), addr1() == (uintptr_t)page ? "yes" : "no", page);
  printf("page2 %% 4096 = %u, same address in the library: %s, contents %d%d%d%d\n",
         (unsigned)((uintptr_t)page2 % 4096), addr2() == (uintptr_t)page2 ? "yes" : "no",
         page2[0], page2[1], page2[2], page2[3]);
  printf("line %% 64 = %u, contents \"%s\"\n", (unsigned)((uintptr_t)line % 64), line);
  printf("before = %c\n", *(char *)dlsym(p1, "before"));
  return 0;
}
