;; A main module with two tables that exports the second as `__indirect_function_table` (found by
;; the fuzzer: the patched main had two exports of that name).
(module
  (table 1 funcref)
  (table 1 funcref)
  (memory 1)
  (global (mut i32) (i32.const 65536))
  (export "memory" (memory 0))
  (export "__indirect_function_table" (table 1))
  (export "__stack_pointer" (global 0))
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "free") (param i32))
  (func (export "_start")))
