/* Built by clang-19: exports `__wasm_apply_data_relocs` (with data relocations to apply) and
 * no start function, next to the LLVM 22 libraries of this case. */
#include <stdio.h>
static const char *greeting = "rel19";
const char **greeting_ptr = &greeting;
int (*printer)(const char *, ...) = printf;
int rel19_data[4] = {1, 2, 3, 4};
int *rel19_third = &rel19_data[2];
int rel19_zeros[16];
void rel19_report(void) {
  rel19_zeros[15] += *rel19_third;
  printer("%s: third=%d zeros[15]=%d\n", *greeting_ptr, *rel19_third, rel19_zeros[15]);
}
