/* Data that needs 4096-byte alignment: MEM_INFO memory alignment 2^12. */
#include <stdint.h>
char before = 'b';
_Alignas(4096) char page[64] = "page-aligned";
/* The address itself: clang folds `(uintptr_t)page % 4096` to 0, knowing the alignment. */
uintptr_t page_address(void) { return (uintptr_t)page; }
