;; `env.__stack_pointer` as an immutable i64.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (import "env" "__stack_pointer" (global i64))
  (func (export "sp_fn") (result i32) i32.const 1))
