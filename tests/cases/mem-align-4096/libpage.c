/* Data that needs 4096-byte alignment: MEM_INFO memory alignment 2^12. */
#include <stdint.h>
char before = 'b';
_Alignas(4096) char page[64] = "page-aligned";
unsigned page_misalignment(void) { return (unsigned)((uintptr_t)page % 4096); }
