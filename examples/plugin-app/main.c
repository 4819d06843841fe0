/* plugin-app: a main module that loads two plugins with dlopen/dlsym. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef char *(*greet_fn)(const char *);
typedef int (*shout_fn)(const char *);
typedef shout_fn (*get_shout_fn)(void);
typedef int (*int_fn)(int);

static void *open_lib(const char *name, int flags) {
  void *h = dlopen(name, flags);
  if (!h) {
    printf("dlopen(%s) failed: %s\n", name, dlerror());
    exit(1);
  }
  printf("main: opened %s\n", name);
  return h;
}

static void *sym(void *h, const char *name) {
  void *p = dlsym(h, name);
  if (!p) {
    printf("dlsym(%s) failed: %s\n", name, dlerror());
    exit(1);
  }
  return p;
}

int main(void) {
  void *other = open_lib("libother.so", RTLD_NOW | RTLD_GLOBAL);
  void *greet_lib = open_lib("libgreet.so", RTLD_NOW);

  /* A function and a data symbol. */
  greet_fn greet = (greet_fn)sym(greet_lib, "greet");
  int *count = (int *)sym(greet_lib, "greet_count");
  const char *prefix = (const char *)sym(greet_lib, "greet_prefix");
  printf("main: greet_prefix = \"%s\", greet_count = %d\n", prefix, *count);

  char *s = greet("world");
  printf("main: got \"%s\", greet_count = %d\n", s, *count);
  free(s); /* the plugin's malloc is main's */

  *count = 41;
  s = greet("wasm");
  printf("main: got \"%s\", greet_count = %d\n", s, *count);
  free(s);

  /* A function pointer made inside the plugin. */
  get_shout_fn get_shout = (get_shout_fn)sym(greet_lib, "greet_get_shout");
  shout_fn shout = get_shout();
  printf("main: shout returned %d\n", shout("dlopen"));
  printf("main: it is dlsym(\"greet_shout\"): %s\n", shout == (shout_fn)sym(greet_lib, "greet_shout") ? "yes" : "no");

  /* The second library, directly and through the first. */
  int_fn twice = (int_fn)sym(other, "other_twice");
  printf("main: other_twice(21) = %d\n", twice(21));
  int_fn via = (int_fn)sym(greet_lib, "greet_twice_via_other");
  printf("main: greet_twice_via_other(5) = %d\n", via(5));
  printf("main: other_label = \"%s\"\n", (const char *)sym(other, "other_label"));

  printf("main: dlclose -> %d %d\n", dlclose(greet_lib), dlclose(other));
  return 0;
}
