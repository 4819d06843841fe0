;; A function exported under a name nothing binds (so `--gc` drops the export: the library is
;; NEEDED, not dlopen'able) and also taken by `ref.func` in a live body. The export was its only
;; declaration as referenceable: dropping it without declaring the function otherwise would
;; make the body invalid. wasm-ld never emits `ref.func` in a body, hand-written modules may.
(module
  (@dylink.0
    (mem-info (memory 0 0)))
  (import "env" "memory" (memory 0))
  (func $cb (export "ref_cb") (result i32) i32.const 7)
  (func (export "ref_run") (result i32)
    (if (ref.is_null (ref.func $cb))
      (then (return (i32.const -1))))
    (call $cb)))
