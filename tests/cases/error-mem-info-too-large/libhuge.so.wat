;; MEM_INFO asks for 0xfffffff0 bytes aligned to 2^12: more than a 32-bit memory can hold.
(module
  (@dylink.0 (mem-info (memory 0xfffffff0 12)))
  (import "env" "memory" (memory 1)))
