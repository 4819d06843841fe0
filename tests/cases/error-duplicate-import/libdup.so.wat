;; The same import twice.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (import "env" "abs" (func $a (param i32) (result i32)))
  (import "env" "abs" (func $b (param i32) (result i32)))
  (func (export "dup_fn") (result i32) i32.const -1 call $a i32.const -2 call $b i32.add))
