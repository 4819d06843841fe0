;; `fd_write` with the wrong type: the library's fault, not main's.
(module
  (@dylink.0 (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (import "wasi_snapshot_preview1" "fd_write" (func $f (param i32) (result i32)))
  (func (export "wasi_fn") (result i32) i32.const 1 call $f))
