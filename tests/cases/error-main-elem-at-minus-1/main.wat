;; A main module whose element segment starts at i32.const -1 with two functions (issue 13: the
;; parse pass overflowed computing their slots). It cannot be instantiated, and a library it
;; needs is missing: that error must come, not a panic.
(module
  (import "env" "lib_fn" (func $lib_fn))
  (table 2 funcref)
  (memory 1)
  (global (mut i32) (i32.const 65536))
  (export "memory" (memory 0))
  (export "__indirect_function_table" (table 0))
  (export "__stack_pointer" (global 0))
  (func $a)
  (func $b)
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "free") (param i32))
  (func (export "_start") call $lib_fn)
  (elem (i32.const -1) func $a $b))
