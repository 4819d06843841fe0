;; MEM_INFO reserves 1 table slot, its element segment fills 2.
(module
  (@dylink.0 (mem-info (memory 0 0) (table 1 0)))
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__table_base" (global $tb i32))
  (func $a (export "elem_a") (result i32) i32.const 1)
  (func $b (result i32) i32.const 2)
  (elem (global.get $tb) func $a $b))
