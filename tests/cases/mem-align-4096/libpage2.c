#include <stdint.h>
_Alignas(4096) int page2[4] = {4, 0, 9, 6};
_Alignas(64) char line[8] = "line";
unsigned page2_misalignment(void) { return (unsigned)((uintptr_t)page2 % 4096); }
