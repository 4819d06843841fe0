;; A prelinked library whose start function only zeroes its .bss, as wasm-ld's
;; `__wasm_init_memory` does for a PIC library built with bulk memory (componentize-py's
;; libpython and libc): its region starts zero, so the composer does not run it.
(module
  (@dylink.0 (mem-info (memory 12288 2)))
  (import "env" "memory" (memory 0))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (func $init
    i32.const 16
    global.get $mb
    i32.add
    i32.const 0
    i32.const 12272
    memory.fill)
  (start $init)
  (func (export "bss_read") (param i32) (result i32)
    local.get 0
    global.get $mb
    i32.add
    i32.load)
  (data (global.get $mb) "\2a\00\00\00\2b\00\00\00"))
