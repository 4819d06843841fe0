;; A library whose only import is `env.__memory_base` (no memory, no table import).
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "__memory_base" (global $mb i32))
  (func (export "mb_fn") (result i32) i32.const 42))
