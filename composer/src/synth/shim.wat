;; The dl shim: the C ABI of dlfcn.h in front of the provider's `dl` interface.
;;
;; It is a wit-component adapter of the main module: main imports `dlopen`, ... from module
;; "wasm-dl"; the shim reads C strings from main's memory, calls the provider through lowerings
;; whose lists land in main's memory (via `cabi_import_realloc` = main's malloc), and runs the
;; loader steps for libraries the provider says must be loaded, through main's
;; `__wasm_dl_dispatch(op, lib)`.
(module
  (import "env" "memory" (memory 0))
  (import "__main_module__" "malloc" (func $malloc (param i32) (result i32)))
  (import "__main_module__" "free" (func $free (param i32)))
  (import "__main_module__" "__wasm_dl_dispatch" (func $dispatch (param i32 i32) (result i32)))
  ;; open: (name: option<list<u8>>, mode: s32) -> result<opened, list<u8>>, via a return area:
  ;; byte 0 = 1 on error; ok: handle @4, load list ptr @8, len @12; err: message ptr @4, len @8.
  (import "wasm-dl:dl/dl@0.1.0" "open" (func $open (param i32 i32 i32 i32 i32)))
  (import "wasm-dl:dl/dl@0.1.0" "loaded" (func $loaded (param i32 i32 i32)))
  ;; abort: (handle, lib) -> list<u8>: ptr @0, len @4.
  (import "wasm-dl:dl/dl@0.1.0" "abort" (func $abort (param i32 i32 i32)))
  ;; startup: () -> result<list<u32>, list<u8>>: byte 0 = 1 on error; list ptr @4, len @8.
  (import "wasm-dl:dl/dl@0.1.0" "startup" (func $startup (param i32)))
  ;; sym: (handle, name) -> result<u32, list<u8>>: ok value @4; err ptr @4, len @8.
  (import "wasm-dl:dl/dl@0.1.0" "sym" (func $sym (param i32 i32 i32 i32)))
  ;; close: (handle) -> result<list<u32>, list<u8>>: ptr @4, len @8 either way.
  (import "wasm-dl:dl/dl@0.1.0" "close" (func $close (param i32 i32)))
  ;; addr: (address) -> option<addr-info>: byte 0 = 1 when found; fname ptr @4, len @8,
  ;; fbase @12, sname ptr @16, len @20, saddr @24.
  (import "wasm-dl:dl/dl@0.1.0" "addr" (func $addr (param i32 i32)))

  (global $ret (mut i32) (i32.const 0))   ;; 32-byte return area, malloc'd on first use
  (global $err (mut i32) (i32.const 0))   ;; pending error message (NUL-terminated) or 0
  (global $given (mut i32) (i32.const 0)) ;; message last returned by dlerror, freed next time

  (func $retarea (result i32)
    global.get $ret
    i32.eqz
    if
      i32.const 32
      call $malloc
      global.set $ret
      global.get $ret
      i32.eqz
      if unreachable end
    end
    global.get $ret)

  (func $strlen (param $s i32) (result i32)
    (local $p i32)
    local.get $s
    local.set $p
    block $done
      loop $next
        local.get $p
        i32.load8_u
        i32.eqz
        br_if $done
        local.get $p
        i32.const 1
        i32.add
        local.set $p
        br $next
      end
    end
    local.get $p
    local.get $s
    i32.sub)

  (func $set_error (param $msg i32)
    global.get $err
    if global.get $err call $free end
    local.get $msg
    global.set $err)

  ;; Runs loader step `op` for every library of a load list.
  (func $each (param $op i32) (param $list i32) (param $n i32)
    (local $i i32)
    block $done
      loop $next
        local.get $i
        local.get $n
        i32.ge_u
        br_if $done
        local.get $op
        local.get $list
        local.get $i
        i32.const 2
        i32.shl
        i32.add
        i32.load
        call $dispatch
        drop
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $next
      end
    end)

  (func (export "dlopen") (param $name i32) (param $mode i32) (result i32)
    (local $r i32) (local $handle i32) (local $failed i32)
    call $retarea
    local.set $r
    local.get $name
    i32.const 0
    i32.ne
    local.get $name
    local.get $name
    if (result i32)
      local.get $name
      call $strlen
    else
      i32.const 0
    end
    local.get $mode
    local.get $r
    call $open
    local.get $r
    i32.load8_u
    if
      local.get $r
      i32.load offset=4
      call $set_error
      i32.const 0
      return
    end
    ;; Constructors may call dl* again (reusing the return area): keep the handle.
    local.get $r
    i32.load offset=4
    local.set $handle
    local.get $r
    i32.load offset=8
    local.get $r
    i32.load offset=12
    call $load
    local.tee $failed
    i32.const -1
    i32.ne
    if
      ;; A library could not be placed: the provider forgets this open; dlopen fails.
      local.get $handle
      local.get $failed
      call $retarea
      local.tee $r
      call $abort
      local.get $r
      i32.load
      call $set_error
      i32.const 0
      return
    end
    local.get $handle)

  ;; Loads the libraries of a load list (dependencies first) and frees the list. Returns -1, or
  ;; the library that could not be placed (then nothing was relocated or constructed).
  (func $load (param $list i32) (param $n i32) (result i32)
    (local $i i32) (local $lib i32)
    ;; Place every library first (so relocations can point into any of them), ...
    block $placed
      loop $next
        local.get $i
        local.get $n
        i32.ge_u
        br_if $placed
        local.get $list
        local.get $i
        i32.const 2
        i32.shl
        i32.add
        i32.load
        local.set $lib
        i32.const 0
        local.get $lib
        call $dispatch
        i32.eqz
        if ;; out of memory or table space
          local.get $n
          if local.get $list call $free end
          local.get $lib
          return
        end
        local.get $lib
        i32.const 1
        local.get $lib
        call $dispatch
        i32.const 2
        local.get $lib
        call $dispatch
        call $loaded
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $next
      end
    end
    ;; ... then relocate them all, then run constructors, dependencies first.
    i32.const 3
    local.get $list
    local.get $n
    call $each
    i32.const 4
    local.get $list
    local.get $n
    call $each
    local.get $n
    if local.get $list call $free end
    i32.const -1)

  ;; Before main's `_start`: load the libraries main was linked against.
  (func (export "__wasm_dl_startup")
    (local $r i32)
    call $retarea
    local.set $r
    local.get $r
    call $startup
    ;; Only a corrupt index fails here, and main cannot run without its libraries.
    local.get $r
    i32.load8_u
    if unreachable end
    local.get $r
    i32.load offset=4
    local.get $r
    i32.load offset=8
    call $load
    i32.const -1
    i32.ne
    if unreachable end) ;; out of memory before main even starts

  (func (export "dlsym") (param $handle i32) (param $name i32) (result i32)
    (local $r i32)
    call $retarea
    local.set $r
    local.get $handle
    local.get $name
    local.get $name
    call $strlen
    local.get $r
    call $sym
    local.get $r
    i32.load8_u
    if
      local.get $r
      i32.load offset=4
      call $set_error
      i32.const 0
      return
    end
    local.get $r
    i32.load offset=4)

  (func (export "dlclose") (param $handle i32) (result i32)
    (local $r i32) (local $list i32) (local $n i32)
    call $retarea
    local.set $r
    local.get $handle
    local.get $r
    call $close
    local.get $r
    i32.load8_u
    if
      local.get $r
      i32.load offset=4
      call $set_error
      i32.const -1
      return
    end
    ;; Run the destructors of the libraries unloaded now, in the provider's order (they may
    ;; call dl* themselves, which reuses the return area: keep the list in locals).
    local.get $r
    i32.load offset=4
    local.set $list
    local.get $r
    i32.load offset=8
    local.set $n
    i32.const 5
    local.get $list
    local.get $n
    call $each
    local.get $n
    if local.get $list call $free end
    i32.const 0)

  ;; dladdr(addr, Dl_info *info): the provider's strings stay allocated (never freed).
  (func (export "dladdr") (param $address i32) (param $info i32) (result i32)
    (local $r i32)
    call $retarea
    local.set $r
    local.get $address
    local.get $r
    call $addr
    local.get $r
    i32.load8_u
    i32.eqz
    if
      i32.const 0
      return
    end
    local.get $info
    local.get $r
    i32.load offset=4
    i32.store            ;; dli_fname
    local.get $info
    local.get $r
    i32.load offset=12
    i32.store offset=4   ;; dli_fbase
    local.get $info
    local.get $r
    i32.load offset=20
    if (result i32)
      local.get $r
      i32.load offset=16
    else
      i32.const 0
    end
    i32.store offset=8   ;; dli_sname
    local.get $info
    local.get $r
    i32.load offset=24
    i32.store offset=12  ;; dli_saddr
    i32.const 1)

  (func (export "dlerror") (result i32)
    global.get $given
    if global.get $given call $free end
    global.get $err
    global.set $given
    i32.const 0
    global.set $err
    global.get $given)

  ;; Lists the provider returns are allocated in main's memory by main's malloc.
  (func (export "cabi_import_realloc") (param i32 i32 i32 i32) (result i32)
    local.get 3
    call $malloc)
)
