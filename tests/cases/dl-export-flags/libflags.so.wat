;; EXPORT_INFO flags that wasm-ld does not write (it marks only TLS exports) but `dylink.0`
;; allows: a HIDDEN or LOCAL export is a module export, not a symbol (no `dlsym`, binds no
;; import); a WEAK one yields to a strong definition elsewhere.
(module
  (@dylink.0
    (mem-info (memory 8 2))
    (export-info "flags_hidden" visibility-hidden)
    (export-info "flags_local" binding-local)
    (export-info "flags_hidden_data" visibility-hidden)
    (export-info "shared_name" binding-weak))
  (import "env" "memory" (memory 0))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (global (export "flags_data") i32 (i32.const 0))
  (global (export "flags_hidden_data") i32 (i32.const 4))
  (func (export "flags_visible") (result i32) i32.const 1)
  (func (export "flags_hidden") (result i32) i32.const 2)
  (func (export "flags_local") (result i32) i32.const 3)
  (func (export "shared_name") (result i32) i32.const 10)
  (func (export "flags_after_hidden") (result i32) i32.const 4)
  (data (global.get $mb) "\2a\00\00\00\2b\00\00\00"))
