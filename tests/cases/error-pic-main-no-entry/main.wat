;; A position-independent main (dylink.0, imported memory) without an entry point: a plain
;; `-shared` library given as the main module.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (import "env" "__memory_base" (global i32))
  (func (export "not_main") (result i32) i32.const 1))
