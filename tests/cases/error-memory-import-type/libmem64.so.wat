;; `env.memory` as a 64-bit memory.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory i64 0))
  (func (export "mem64_fn") (result i32) i32.const 1))
