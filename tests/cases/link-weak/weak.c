#include <stdio.h>
/* Nobody defines these: they must be NULL. */
extern int nowhere_data __attribute__((weak));
extern int nowhere_func(void) __attribute__((weak));
/* libstrong.so defines this strongly: its definition wins over this weak one, although
 * libweak.so comes first on the command line. */
__attribute__((weak)) int chosen(void) { return 1; }
void weak_report(void) {
  printf("&nowhere_data == NULL: %s\n", &nowhere_data == NULL ? "yes" : "no");
  printf("nowhere_func == NULL: %s\n", nowhere_func == NULL ? "yes" : "no");
  printf("chosen() = %d\n", chosen());
}
