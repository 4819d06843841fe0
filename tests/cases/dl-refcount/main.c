/* Opening a library twice returns the same handle and bumps its reference count: it stays open
 * until dlclose has been called as often as dlopen. Closing it once more fails with a message. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  void *h1 = dlopen("liba.so", RTLD_NOW);
  void *h2 = dlopen("liba.so", RTLD_LAZY);
  printf("h1 and h2 non-NULL: %s\n", h1 && h2 ? "yes" : "no");
  printf("same handle: %s\n", h1 == h2 ? "yes" : "no");
  printf("dlclose(h1) = %d\n", dlclose(h1));
  int (*f)(void) = (int (*)(void))dlsym(h2, "a_value");
  printf("still open: a_value() = %d\n", f ? f() : -1);
  printf("dlclose(h2) = %d\n", dlclose(h2));
  printf("dlerror() after good closes: %s\n", dlerror() ? "set" : "NULL");
  printf("dlclose(h2) again != 0: %s\n", dlclose(h2) != 0 ? "yes" : "no");
  const char *e = dlerror();
  printf("dlerror(): %s\n", e ? e : "(null)");
  printf("dlerror() again: %s\n", dlerror() ? "set" : "NULL");
  printf("dlclose(bogus) != 0: %s\n", dlclose((void *)0x12345) != 0 ? "yes" : "no");
  e = dlerror();
  printf("dlerror(): %s\n", e ? e : "(null)");
  /* dlclose of the global-scope handle succeeds and does nothing. */
  printf("dlclose(dlopen(NULL)) = %d\n", dlclose(dlopen(NULL, RTLD_NOW)));
  return 0;
}
