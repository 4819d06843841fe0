// The host: opens each plugin with dlopen, runs it on its argument (or a default text).
#include <dlfcn.h>
#include <stdio.h>

typedef const char *(*name_fn)(void);
typedef int (*run_fn)(const char *in, char *out, int size);

int main(int argc, char **argv) {
  const char *plugins[] = {"libupper.so", "libcount.so"};
  const char *text = argc > 1 ? argv[1] : "plugins built by cmake";
  for (int i = 0; i < 2; i++) {
    void *h = dlopen(plugins[i], RTLD_NOW);
    if (!h) {
      printf("host: dlopen(%s) failed: %s\n", plugins[i], dlerror());
      return 1;
    }
    name_fn name = (name_fn)dlsym(h, "plugin_name");
    run_fn run = (run_fn)dlsym(h, "plugin_run");
    if (!name || !run) {
      printf("host: %s lacks plugin_name/plugin_run: %s\n", plugins[i], dlerror());
      return 1;
    }
    char out[128];
    int n = run(text, out, (int)sizeof out);
    printf("host: %s(\"%s\") = \"%s\" (%d)\n", name(), text, out, n);
  }
  void *missing = dlopen("libmissing.so", RTLD_NOW);
  printf("host: dlopen(libmissing.so) = %s\n", missing ? "a handle" : "NULL");
  return 0;
}
