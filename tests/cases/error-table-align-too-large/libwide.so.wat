;; MEM_INFO table alignment 2^17: up to 131071 padding slots for one library.
(module
  (@dylink.0 (mem-info (memory 0 0) (table 0 17)))
  (import "env" "memory" (memory 0)))
