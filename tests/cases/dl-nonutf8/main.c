/* Names are byte strings: names that are not UTF-8 fail cleanly (no trap), with a message. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  const char *bad = "lib\xff\xfe\xc3(.so";
  void *h = dlopen(bad, RTLD_NOW);
  const char *e = dlerror();
  printf("dlopen(non-UTF-8): %s; message names it: %s\n", h ? "a handle" : "NULL",
         e && strstr(e, bad) ? "yes" : "no");
  void *a = dlopen("liba.so", RTLD_NOW);
  void *p = dlsym(a, "\x80\xff sym");
  e = dlerror();
  printf("dlsym(a, non-UTF-8): %s; message names it: %s\n", p ? "found" : "NULL",
         e && strstr(e, "\x80\xff sym") ? "yes" : "no");
  p = dlsym(RTLD_DEFAULT, "\xfe");
  printf("dlsym(RTLD_DEFAULT, non-UTF-8): %s; dlerror set: %s\n", p ? "found" : "NULL",
         dlerror() ? "yes" : "no");
  int (*f)(void) = (int (*)(void))dlsym(a, "a_value");
  printf("a_value() = %d\n", f ? f() : -1);
  return 0;
}
