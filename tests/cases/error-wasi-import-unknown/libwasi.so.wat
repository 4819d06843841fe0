;; A WASI preview 1 function that does not exist: the library's fault, not main's.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (import "wasi_snapshot_preview1" "no_such_fn" (func $f (result i32)))
  (func (export "wasi_fn") (result i32) call $f))
