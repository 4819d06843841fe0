;; MEM_INFO table size 0x7fffffff: a 16 GB table at the first dlopen.
(module
  (@dylink.0 (mem-info (memory 0 0) (table 0x7fffffff 0)))
  (import "env" "memory" (memory 0))
  (func (export "huge_fn") (result i32) i32.const 1))
