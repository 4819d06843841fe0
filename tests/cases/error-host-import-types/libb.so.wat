;; The same WASI function as liba.so, declared with another type.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (import "wasi_snapshot_preview1" "sched_yield" (func $f (param i32) (result i32)))
  (func (export "b_fn") (result i32) i32.const 0 call $f))
