;; MEM_INFO table alignment 2^3 with one element of its own.
(module
  (@dylink.0 (mem-info (memory 0 0) (table 1 3)))
  (type $i (func (result i32)))
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 1 funcref))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (elem (global.get $tb) func $f0)
  (func $f0 (result i32) i32.const 80)
  (func (export "t8_base") (result i32) global.get $tb)
  (func (export "t8_call") (result i32)
    global.get $tb
    call_indirect (type $i)))
