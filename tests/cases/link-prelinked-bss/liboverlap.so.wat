;; A prelinked library whose start function zeroes bytes its data segment filled: the start
;; function must run (the data reads as zero after it, as in any runtime).
(module
  (@dylink.0 (mem-info (memory 64 2)))
  (import "env" "memory" (memory 0))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (func $init
    global.get $mb
    i32.const 0
    i32.add
    i32.const 0
    i32.const 64
    memory.fill)
  (start $init)
  (func (export "ovl_read") (param i32) (result i32)
    local.get 0
    global.get $mb
    i32.add
    i32.load)
  (data (global.get $mb) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\2a\00\00\00\2b\00\00\00"))
