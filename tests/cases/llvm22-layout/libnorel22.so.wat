;; LLVM 22 output, kept as text: `wasm-tools print` of what clang-22 / wasm-ld-22 (Debian 22.1.8,
;; bookworm-security) build from the C source below with
;;   clang-22 --target=wasm32-wasi --sysroot=<wasip1 sysroot> -fPIC -fvisibility=default -O2 -c libnorel22.c
;;   wasm-ld-22 -shared --experimental-pic --unresolved-symbols=import-dynamic libnorel22.o -o libnorel22.so
;; The tests only use clang-19, so the LLVM 22 shape is checked in as is. Source:
;;   #include <stdio.h>
;;   int counter = 41;
;;   int zeros[64];
;;   int norel_bump(void) { zeros[63] += 2; return ++counter; }
;;   void norel_report(void) { printf("norel22: counter=%d zeros[63]=%d zeros[0]=%d\n", counter, zeros[63], zeros[0]); }
(module $libnorel22.so
  (@dylink.0
    (mem-info (memory 320 4))
  )
  (type (;0;) (func (param i32 i32) (result i32)))
  (type (;1;) (func))
  (type (;2;) (func (result i32)))
  (import "env" "memory" (memory (;0;) 1))
  (import "env" "__stack_pointer" (global $__stack_pointer (;0;) (mut i32)))
  (import "env" "__memory_base" (global $__memory_base (;1;) i32))
  (import "env" "__table_base" (global $__table_base (;2;) i32))
  (import "env" "printf" (func $printf (;0;) (type 0) (param i32 i32) (result i32)))
  (import "GOT.mem" "zeros" (global $zeros (;3;) (mut i32)))
  (import "GOT.mem" "counter" (global $counter (;4;) (mut i32)))
  (global (;5;) i32 i32.const 64)
  (global (;6;) i32 i32.const 48)
  (export "__wasm_call_ctors" (func $__wasm_call_ctors))
  (export "norel_bump" (func $norel_bump))
  (export "zeros" (global 5))
  (export "counter" (global 6))
  (export "norel_report" (func $norel_report))
  (start $__wasm_init_memory)
  (func $__wasm_call_ctors (;1;) (type 1))
  (func $__wasm_init_memory (;2;) (type 1)
    i32.const 64
    global.get $__memory_base
    i32.add
    i32.const 0
    i32.const 256
    memory.fill
  )
  (func $norel_bump (;3;) (type 2) (result i32)
    (local i32)
    global.get $zeros
    local.tee 0
    local.get 0
    i32.load offset=252
    i32.const 2
    i32.add
    i32.store offset=252
    global.get $counter
    local.tee 0
    local.get 0
    i32.load
    i32.const 1
    i32.add
    local.tee 0
    i32.store
    local.get 0
  )
  (func $norel_report (;4;) (type 1)
    (local i32 i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.tee 0
    global.set $__stack_pointer
    local.get 0
    global.get $counter
    i32.load
    i32.store
    local.get 0
    global.get $zeros
    local.tee 1
    i32.load offset=252
    i32.store offset=4
    local.get 0
    local.get 1
    i32.load
    i32.store offset=8
    global.get $__memory_base
    i32.const 0
    i32.add
    local.get 0
    call $printf
    drop
    local.get 0
    i32.const 16
    i32.add
    global.set $__stack_pointer
  )
  (data $.data (;0;) (global.get $__memory_base) "norel22: counter=%d zeros[63]=%d zeros[0]=%d\0a\00\00\00)\00\00\00")
  (@producers
    (processed-by "Debian clang" "22.1.8 (1~deb12u1)")
  )
  (@custom "target_features" (after data) "\08+\0bbulk-memory+\0fbulk-memory-opt+\16call-indirect-overlong+\0amultivalue+\0fmutable-globals+\13nontrapping-fptoint+\0freference-types+\08sign-ext")
)
