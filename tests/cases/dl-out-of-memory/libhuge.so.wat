;; A library asking for 3.5 GB of memory (MEM_INFO): main's malloc cannot give it.
(module
  (@dylink.0 (mem-info (memory 3500000000 4)))
  (import "env" "memory" (memory 0))
  (import "env" "__memory_base" (global i32))
  (func (export "huge_fn") (result i32) i32.const 1))
