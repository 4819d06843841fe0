/* Like glibc, dlopen needs exactly a binding mode: RTLD_LAZY or RTLD_NOW. Without one it fails
 * with a message (and loads nothing); unknown bits are refused too. */
#include <dlfcn.h>
#include <stdio.h>

static void try_open(const char *what, const char *name, int mode) {
  void *h = dlopen(name, mode);
  const char *e = dlerror();
  printf("%s: %s; dlerror: %s\n", what, h ? "a handle" : "NULL", e ? e : "(null)");
}

int main(void) {
  try_open("mode 0", "liba.so", 0);
  try_open("RTLD_GLOBAL alone", "liba.so", RTLD_GLOBAL);
  try_open("RTLD_NOLOAD alone", "liba.so", RTLD_NOLOAD);
  try_open("dlopen(NULL, 0)", NULL, 0);
  try_open("unknown bit", "liba.so", RTLD_NOW | 0x40000);
  try_open("RTLD_NOW | RTLD_GLOBAL", "liba.so", RTLD_NOW | RTLD_GLOBAL);
  try_open("RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE", "liba.so", RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE);
  return 0;
}
