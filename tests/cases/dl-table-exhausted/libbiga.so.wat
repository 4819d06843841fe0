;; MEM_INFO asks for 6,000,000 table slots: one such library fits under wasm-dl's limit on
;; main's table (10,000,000 slots), two do not.
(module
  (@dylink.0 (mem-info (memory 16 2) (table 6000000 0)))
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__memory_base" (global i32))
  (import "env" "__table_base" (global i32))
  (func (export "biga_fn") (result i32) i32.const 7))
