;; A constructor entry point that takes a parameter.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (func (export "__wasm_call_ctors") (param i32))
  (func (export "ctor_fn") (result i32) i32.const 1))
