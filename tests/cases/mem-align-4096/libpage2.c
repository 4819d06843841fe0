#include <stdint.h>
_Alignas(4096) int page2[4] = {4, 0, 9, 6};
_Alignas(64) char line[8] = "line";
uintptr_t page2_address(void) { return (uintptr_t)page2; }
