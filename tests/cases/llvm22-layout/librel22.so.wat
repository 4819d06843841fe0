;; LLVM 22 output, kept as text: `wasm-tools print` of what clang-22 / wasm-ld-22 (Debian 22.1.8,
;; bookworm-security) build from the C source below with
;;   clang-22 --target=wasm32-wasi --sysroot=<wasip1 sysroot> -fPIC -fvisibility=default -O2 -c librel22.c
;;   wasm-ld-22 -shared --experimental-pic --unresolved-symbols=import-dynamic librel22.o -o librel22.so
;; The tests only use clang-19, so the LLVM 22 shape is checked in as is. Source:
;;   #include <stdio.h>
;;   static int one(void) { return 1; }
;;   static int two(void) { return 2; }
;;   int (*rel_ops[2])(void) = {one, two};
;;   const char *rel_name = "rel22";
;;   int rel_scratch[32];
;;   int *rel_scratch_end = &rel_scratch[31];
;;   __attribute__((destructor)) static void rel_fini(void) { printf("rel22: destructor\n"); }
;;   void rel_report(void) {
;;     *rel_scratch_end = 7;
;;     printf("%s: ops %d %d, scratch[31]=%d\n", rel_name, rel_ops[0](), rel_ops[1](), rel_scratch[31]);
;;   }
(module $librel22.so
  (@dylink.0
    (mem-info (memory 208 4) (table 3 0))
  )
  (type (;0;) (func (result i32)))
  (type (;1;) (func (param i32) (result i32)))
  (type (;2;) (func (param i32 i32) (result i32)))
  (type (;3;) (func (param i32 i32 i32) (result i32)))
  (type (;4;) (func))
  (type (;5;) (func (param i32)))
  (import "env" "memory" (memory (;0;) 1))
  (import "env" "__indirect_function_table" (table (;0;) 3 funcref))
  (import "env" "__stack_pointer" (global $__stack_pointer (;0;) (mut i32)))
  (import "env" "__memory_base" (global $__memory_base (;1;) i32))
  (import "env" "__table_base" (global $__table_base (;2;) i32))
  (import "env" "puts" (func $puts (;0;) (type 1) (param i32) (result i32)))
  (import "env" "printf" (func $printf (;1;) (type 2) (param i32 i32) (result i32)))
  (import "env" "__cxa_atexit" (func $__cxa_atexit (;2;) (type 3) (param i32 i32 i32) (result i32)))
  (import "GOT.mem" "rel_scratch_end" (global $rel_scratch_end (;3;) (mut i32)))
  (import "GOT.mem" "rel_name" (global $rel_name (;4;) (mut i32)))
  (import "GOT.mem" "rel_ops" (global $rel_ops (;5;) (mut i32)))
  (import "GOT.mem" "rel_scratch" (global $rel_scratch (;6;) (mut i32)))
  (global $GOT.data.internal.__dso_handle (;7;) (mut i32) i32.const 0)
  (global (;8;) i32 i32.const 68)
  (global (;9;) i32 i32.const 64)
  (global (;10;) i32 i32.const 56)
  (global (;11;) i32 i32.const 80)
  (export "__wasm_call_ctors" (func $__wasm_call_ctors))
  (export "rel_report" (func $rel_report))
  (export "rel_scratch_end" (global 8))
  (export "rel_name" (global 9))
  (export "rel_ops" (global 10))
  (export "rel_scratch" (global 11))
  (export "__wasm_apply_data_relocs" (func $__wasm_apply_data_relocs))
  (start $__wasm_start)
  (elem (;0;) (global.get $__table_base) func $.Lcall_dtors $one $two)
  (func $__wasm_call_ctors (;3;) (type 4)
    call $.Lregister_call_dtors
  )
  (func $__wasm_apply_data_relocs (;4;) (type 4)
    i32.const 56
    global.get $__memory_base
    i32.add
    global.get $__table_base
    i32.const 1
    i32.add
    i32.store
    i32.const 60
    global.get $__memory_base
    i32.add
    global.get $__table_base
    i32.const 2
    i32.add
    i32.store
    i32.const 64
    global.get $__memory_base
    i32.add
    global.get $__memory_base
    i32.const 18
    i32.add
    i32.store
    i32.const 68
    global.get $__memory_base
    i32.add
    global.get $rel_scratch
    i32.const 124
    i32.add
    i32.store
  )
  (func $__wasm_init_memory (;5;) (type 4)
    i32.const 80
    global.get $__memory_base
    i32.add
    i32.const 0
    i32.const 128
    memory.fill
  )
  (func $__wasm_apply_global_relocs (;6;) (type 4)
    global.get $__memory_base
    i32.const 0
    i32.add
    global.set $GOT.data.internal.__dso_handle
  )
  (func $__wasm_start (;7;) (type 4)
    call $__wasm_apply_global_relocs
    call $__wasm_init_memory
  )
  (func $one (;8;) (type 0) (result i32)
    i32.const 1
  )
  (func $two (;9;) (type 0) (result i32)
    i32.const 2
  )
  (func $rel_fini (;10;) (type 4)
    global.get $__memory_base
    i32.const 0
    i32.add
    call $puts
    drop
  )
  (func $rel_report (;11;) (type 4)
    (local i32 i32 i32 i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.tee 0
    global.set $__stack_pointer
    global.get $rel_scratch_end
    i32.load
    i32.const 7
    i32.store
    global.get $rel_name
    i32.load
    local.set 1
    global.get $rel_ops
    local.tee 2
    i32.load
    call_indirect (type 0)
    local.set 3
    local.get 2
    i32.load offset=4
    call_indirect (type 0)
    local.set 2
    local.get 0
    local.get 1
    i32.store
    local.get 0
    local.get 3
    i32.store offset=4
    local.get 0
    local.get 2
    i32.store offset=8
    local.get 0
    global.get $rel_scratch
    i32.load offset=124
    i32.store offset=12
    global.get $__memory_base
    i32.const 24
    i32.add
    local.get 0
    call $printf
    drop
    local.get 0
    i32.const 16
    i32.add
    global.set $__stack_pointer
  )
  (func $.Lcall_dtors (;12;) (type 5) (param i32)
    call $rel_fini
  )
  (func $.Lregister_call_dtors (;13;) (type 4)
    block ;; label = @1
      global.get $__table_base
      i32.const 0
      i32.add
      i32.const 0
      global.get $GOT.data.internal.__dso_handle
      call $__cxa_atexit
      i32.eqz
      br_if 0 (;@1;)
      unreachable
    end
  )
  (data $.data (;0;) (global.get $__memory_base) "rel22: destructor\00rel22\00%s: ops %d %d, scratch[31]=%d\0a\00\00\01\00\00\00\02\00\00\00\12\00\00\00\cc\00\00\00")
  (@producers
    (processed-by "Debian clang" "22.1.8 (1~deb12u1)")
  )
  (@custom "target_features" (after data) "\08+\0bbulk-memory+\0fbulk-memory-opt+\16call-indirect-overlong+\0amultivalue+\0fmutable-globals+\13nontrapping-fptoint+\0freference-types+\08sign-ext")
)
