;; A main module exporting another function under the name `malloc` (found by the compose
;; fuzzer): wasm-dl calls main's `malloc` as C's `void *malloc(size_t)`, so compose says so
;; instead of emitting a component that does not validate.
(module
  (memory (export "memory") 2)
  (table (export "__indirect_function_table") 1 funcref)
  (global (export "__stack_pointer") (mut i32) (i32.const 65536))
  (func (export "malloc") (param f64) (result i32) i32.const 0)
  (func (export "free") (param i32))
  (func (export "_start")))
