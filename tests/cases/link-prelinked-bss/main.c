/* Prelinked libraries (main is linked against both) with start functions that zero memory:
 * skipped where the memory is zero already, run where they zero the library's data. */
#include <stdio.h>
int bss_read(int offset);
int ovl_read(int offset);
int main(void)
{
    printf("libbss: data %d %d, .bss %d %d\n", bss_read(0), bss_read(4), bss_read(16),
           bss_read(12284));
    printf("liboverlap: data after its start function %d %d\n", ovl_read(16), ovl_read(20));
    return 0;
}
