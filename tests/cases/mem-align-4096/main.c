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
  unsigned (*mis1)(void) = (unsigned (*)(void))dlsym(p1, "page_misalignment");
  int *page2 = (int *)dlsym(p2, "page2");
  char *line = (char *)dlsym(p2, "line");
  unsigned (*mis2)(void) = (unsigned (*)(void))dlsym(p2, "page2_misalignment");
  printf("page %% 4096 = %u (library: %u), contents \"%s\"\n",
         (unsigned)((uintptr_t)page % 4096), mis1(), page);
  printf("page2 %% 4096 = %u (library: %u), contents %d%d%d%d\n",
         (unsigned)((uintptr_t)page2 % 4096), mis2(), page2[0], page2[1], page2[2], page2[3]);
  printf("line %% 64 = %u, contents \"%s\"\n", (unsigned)((uintptr_t)line % 64), line);
  printf("before = %c\n", *(char *)dlsym(p1, "before"));
  return 0;
}
