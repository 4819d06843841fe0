;; MEM_INFO reserves 4 bytes, its data segment fills 8: the rest would land on main's heap.
(module
  (@dylink.0 (mem-info (memory 4 2)))
  (import "env" "memory" (memory 0))
  (import "env" "__memory_base" (global $mb i32))
  (func (export "over_fn") (result i32) i32.const 1)
  (data (global.get $mb) "\01\02\03\04\05\06\07\08"))
