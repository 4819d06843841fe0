#include <stdio.h>
/* Nobody defines these: they must be NULL. */
extern int nowhere_data __attribute__((weak));
extern int nowhere_func(void) __attribute__((weak));
/* libstrong.so defines this strongly, but it is in neither the global scope nor libweak.so's own
 * (nothing loads it): as in glibc, whose dynamic lookup ignores weakness, this definition is
 * used. */
__attribute__((weak)) int chosen(void) { return 1; }
void weak_report(void) {
  printf("&nowhere_data == NULL: %s\n", &nowhere_data == NULL ? "yes" : "no");
  printf("nowhere_func == NULL: %s\n", nowhere_func == NULL ? "yes" : "no");
  printf("chosen() = %d\n", chosen());
}
