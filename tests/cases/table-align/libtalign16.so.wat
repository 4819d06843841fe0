;; MEM_INFO table alignment 2^4: the library's table base (where its element segment lands) must
;; be a multiple of 16. wasm-ld always writes 2^0; other producers may not.
(module
  (@dylink.0 (mem-info (memory 0 0) (table 3 4)))
  (type $i (func (result i32)))
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 3 funcref))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (elem (global.get $tb) func $f0 $f1 $f2)
  (func $f0 (result i32) i32.const 160)
  (func $f1 (result i32) i32.const 161)
  (func $f2 (result i32) i32.const 162)
  (func (export "t16_base") (result i32) global.get $tb)
  (func (export "t16_call") (param i32) (result i32)
    local.get 0
    global.get $tb
    i32.add
    call_indirect (type $i)))
