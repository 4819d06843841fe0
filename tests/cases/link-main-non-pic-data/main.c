/* main is linked against libdata.so without -fPIC and uses only its functions: that works, and
 * compose warns that any use of the library's data would need -fPIC. */
#include <stdio.h>
int lib_get(void);
int main(void) {
  printf("lib_get() = %d\n", lib_get());
  return 0;
}
