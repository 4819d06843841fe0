;; dylink.0 whose MEM_INFO subsection claims 5 bytes but holds 1.
(module
  (@custom "dylink.0" (before first) "\01\05\00")
  (import "env" "memory" (memory 1)))
