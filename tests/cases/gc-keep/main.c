/* --gc keeps what a program can reach: see libkeep.c; gc.map shows what it removed. */
#include <dlfcn.h>
#include <stdio.h>
int keep_call_table(int i, int x);
int keep_has_maybe(void);
int other_twice_shared(int x);
int main(void) {
  printf("keep_call_table(0, 6) = %d\n", keep_call_table(0, 6));
  printf("keep_has_maybe() = %d\n", keep_has_maybe());
  printf("other_twice_shared(4) = %d\n", other_twice_shared(4));
  void *p = dlopen("libplugin.so", RTLD_NOW);
  int (*f)(int) = p ? (int (*)(int))dlsym(p, "plugin_only_dlsym") : 0;
  printf("plugin_only_dlsym(5) = %d\n", f ? f(5) : -1);
  return 0;
}
