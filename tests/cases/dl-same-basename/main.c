/* What basename matching still does (wasm-dl's own rule; Linux has no bundled files): a name
 * that no path or search directory finds means the one bundled library of its basename, wherever
 * it is bundled; when several share it, dlopen fails and dlerror says why. `--lib
 * /usr/lib/libx.so.1=b/libx.so` gives b/libx.so one more path. */
#include <dlfcn.h>
#include <stdio.h>

static void try(const char *name) {
  void *h = dlopen(name, RTLD_NOW);
  const char *(*f)(void) = h ? (const char *(*)(void))dlsym(h, "x_dir") : NULL;
  if (f) {
    printf("dlopen(\"%s\"): %s\n", name, f());
  } else {
    const char *e = dlerror();
    printf("dlopen(\"%s\"): NULL; dlerror: %s\n", name, e ? e : "(null)");
  }
}

int main(void) {
  try("/a/libx.so");
  try("b/libx.so");
  try("libx.so");
  try("/elsewhere/libx.so");
  try("liby.so");
  try("/usr/lib/liby.so");
  try("/usr/lib/libx.so.1");
  try("libx.so.1");
  try("/c/liby.so/");
  return 0;
}
