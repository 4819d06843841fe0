;; IMPORT_INFO marks `tls_counter` thread-local. wasm-ld refuses to link such a library itself
;; ("relocation R_WASM_MEMORY_ADDR_TLS_SLEB cannot be used against an undefined symbol"), so
;; only another producer writes it.
(module
  (@dylink.0
    (mem-info (memory 0 0))
    (import-info "env" "tls_counter" tls))
  (import "env" "memory" (memory 0))
  (import "GOT.mem" "tls_counter" (global (mut i32)))
  (func (export "read_counter") (result i32) i32.const 0))
