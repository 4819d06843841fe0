/* A main whose `ftalloc` is something else: wasm-dl would call it as the table allocator. */
#include <dlfcn.h>
#include <stdio.h>
int ftalloc(int tag) { return tag * 2; }
int main(void) {
  printf("%d %p\n", ftalloc(2), dlopen("libx.so", RTLD_NOW));
  return 0;
}
