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
  ;; open-from: (caller, option<list<u8>> name, s32 mode) -> result<opened, list<u8>>, as open.
  (import "wasm-dl:dl/dl@0.1.0" "open-from" (func $open_from (param i32 i32 i32 i32 i32 i32)))
  (import "wasm-dl:dl/dl@0.1.0" "loaded" (func $loaded (param i32 i32 i32)))
  ;; abort: (handle, lib, why: failure) -> list<u8>: ptr @0, len @4. why: 0 memory, 1 table,
  ;; 2 allocator (main's ftalloc failed), 3 allocator-range (ftalloc's answer is unusable).
  (import "wasm-dl:dl/dl@0.1.0" "abort" (func $abort (param i32 i32 i32 i32)))
  ;; startup: () -> result<list<u32>, list<u8>>: byte 0 = 1 on error; list ptr @4, len @8.
  (import "wasm-dl:dl/dl@0.1.0" "startup" (func $startup (param i32)))
  ;; sym: (handle, name) -> result<u32, list<u8>>: ok value @4; err ptr @4, len @8.
  (import "wasm-dl:dl/dl@0.1.0" "sym" (func $sym (param i32 i32 i32 i32)))
  ;; sym-next: (caller, name) -> result<u32, list<u8>>, as sym.
  (import "wasm-dl:dl/dl@0.1.0" "sym-next" (func $sym_next (param i32 i32 i32 i32)))
  ;; close: (handle) -> result<list<u32>, list<u8>>: ptr @4, len @8 either way.
  (import "wasm-dl:dl/dl@0.1.0" "close" (func $close (param i32 i32)))
  ;; addr: (address) -> option<addr-info>: byte 0 = 1 when found; fname ptr @4, len @8,
  ;; fbase @12, sname ptr @16, len @20, saddr @24.
  (import "wasm-dl:dl/dl@0.1.0" "addr" (func $addr (param i32 i32)))

  (global $ret (mut i32) (i32.const 0))   ;; 32-byte return area, malloc'd on first use
  (global $err (mut i32) (i32.const 0))   ;; pending error message (NUL-terminated) or 0
  (global $given (mut i32) (i32.const 0)) ;; message last returned by dlerror, freed next time
  (global $why (mut i32) (i32.const 0))   ;; why $load failed: a `failure` (see abort)

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
    (local $r i32)
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
    call $opened)

  ;; dlopen(name, mode) from library $caller (its RUNPATH is searched): only the env module's
  ;; per-library dlopen wrappers import it (main may not: see shim.rs EXPORTS).
  (func (export "__wasm_dl_dlopen_from") (param $caller i32) (param $name i32) (param $mode i32)
    (result i32)
    (local $r i32)
    call $retarea
    local.set $r
    local.get $caller
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
    call $open_from
    local.get $r
    call $opened)

  ;; The rest of a dlopen, once the provider answered into the return area $r: the error, or
  ;; the libraries of the load list placed, relocated and constructed, and the handle.
  (func $opened (param $r i32) (result i32)
    (local $handle i32) (local $failed i32)
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
    ;; A dlopen can change search orders (RTLD_GLOBAL): forget memoized lookups.
    call $flush
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
      global.get $why
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
    (local $i i32) (local $lib i32) (local $res i32)
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
        i32.const {{OP_ALLOC}}
        local.get $lib
        call $dispatch
        local.tee $res
        i32.const {{ALLOC_OK}}
        i32.ne
        if ;; any other answer is a `failure` (wasm-dl-abi's `loader::Alloc`)
          local.get $res
          global.set $why
          ;; Give back the slots of the libraries placed before this one (nothing unless
          ;; main exports ftfree): nothing of this dlopen remains.
          i32.const {{OP_RELEASE}}
          local.get $list
          local.get $i
          call $each
          local.get $n
          if local.get $list call $free end
          local.get $lib
          return
        end
        local.get $lib
        i32.const {{OP_MEMORY_BASE}}
        local.get $lib
        call $dispatch
        i32.const {{OP_TABLE_BASE}}
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
    i32.const {{OP_RELOCATE}}
    local.get $list
    local.get $n
    call $each
    i32.const {{OP_CONSTRUCT}}
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

  ;; dlsym's memo: an open-addressing hash table (linear probing) of 16-byte entries (hash,
  ;; handle, copy of the name or 0 when free, value), in main's memory, doubled when half full.
  ;; Only successes are kept, and every dlopen and dlclose empties it: between them, search
  ;; orders and symbol values do not change.
  (global $memo (mut i32) (i32.const 0))
  (global $memo_cap (mut i32) (i32.const 0))   ;; entries, a power of two
  (global $memo_count (mut i32) (i32.const 0))

  ;; FNV-1a over the name, mixed with the handle.
  (func $hash (param $handle i32) (param $name i32) (param $len i32) (result i32)
    (local $h i32) (local $end i32)
    i32.const 0x811c9dc5
    local.set $h
    local.get $name
    local.get $len
    i32.add
    local.set $end
    block $done
      loop $next
        local.get $name
        local.get $end
        i32.ge_u
        br_if $done
        local.get $h
        local.get $name
        i32.load8_u
        i32.xor
        i32.const 0x01000193
        i32.mul
        local.set $h
        local.get $name
        i32.const 1
        i32.add
        local.set $name
        br $next
      end
    end
    local.get $h
    local.get $handle
    i32.const 0x9e3779b1
    i32.mul
    i32.xor)

  ;; Whether NUL-terminated strings $a and $b are equal.
  (func $streq (param $a i32) (param $b i32) (result i32)
    (local $c i32)
    loop $next
      local.get $a
      i32.load8_u
      local.tee $c
      local.get $b
      i32.load8_u
      i32.ne
      if i32.const 0 return end
      local.get $c
      i32.eqz
      if i32.const 1 return end
      local.get $a
      i32.const 1
      i32.add
      local.set $a
      local.get $b
      i32.const 1
      i32.add
      local.set $b
      br $next
    end
    unreachable)

  ;; The first entry of table $t (capacity $cap) on hash $h's probe sequence that is free or
  ;; holds ($h, $handle, $name); $name 0 matches free entries only.
  (func $probe (param $t i32) (param $cap i32) (param $h i32) (param $handle i32) (param $name i32)
    (result i32)
    (local $i i32) (local $e i32)
    local.get $h
    local.set $i
    loop $next
      local.get $t
      local.get $i
      local.get $cap
      i32.const 1
      i32.sub
      i32.and
      i32.const 4
      i32.shl
      i32.add
      local.tee $e
      i32.load offset=8
      i32.eqz
      if local.get $e return end
      local.get $name
      if
        local.get $e
        i32.load
        local.get $h
        i32.eq
        local.get $e
        i32.load offset=4
        local.get $handle
        i32.eq
        i32.and
        if
          local.get $e
          i32.load offset=8
          local.get $name
          call $streq
          if local.get $e return end
        end
      end
      local.get $i
      i32.const 1
      i32.add
      local.set $i
      br $next
    end
    unreachable)

  ;; Makes room for one more entry: allocates or doubles the table. 0 when out of memory.
  (func $memo_room (result i32)
    (local $cap i32) (local $t i32) (local $e i32) (local $end i32) (local $to i32)
    global.get $memo_count
    i32.const 1
    i32.add
    i32.const 1
    i32.shl
    global.get $memo_cap
    i32.le_u
    if i32.const 1 return end
    global.get $memo_cap
    i32.const 1
    i32.shl
    i32.const 256
    global.get $memo_cap
    select
    local.tee $cap
    i32.const 4
    i32.shl
    call $malloc
    local.tee $t
    i32.eqz
    if i32.const 0 return end
    local.get $t
    i32.const 0
    local.get $cap
    i32.const 4
    i32.shl
    memory.fill
    ;; Move the old entries over, by their stored hashes.
    global.get $memo
    local.tee $e
    global.get $memo_cap
    i32.const 4
    i32.shl
    i32.add
    local.set $end
    block $done
      loop $next
        local.get $e
        local.get $end
        i32.ge_u
        br_if $done
        local.get $e
        i32.load offset=8
        if
          local.get $t
          local.get $cap
          local.get $e
          i32.load
          i32.const 0
          i32.const 0
          call $probe
          local.tee $to
          local.get $e
          i64.load
          i64.store
          local.get $to
          local.get $e
          i64.load offset=8
          i64.store offset=8
        end
        local.get $e
        i32.const 16
        i32.add
        local.set $e
        br $next
      end
    end
    global.get $memo
    if global.get $memo call $free end
    local.get $t
    global.set $memo
    local.get $cap
    global.set $memo_cap
    i32.const 1)

  ;; Empties the memo (dlclose).
  (func $flush
    (local $e i32) (local $end i32)
    global.get $memo
    local.tee $e
    global.get $memo_cap
    i32.const 4
    i32.shl
    i32.add
    local.set $end
    block $done
      loop $next
        local.get $e
        local.get $end
        i32.ge_u
        br_if $done
        local.get $e
        i32.load offset=8
        if
          local.get $e
          i32.load offset=8
          call $free
          local.get $e
          i32.const 0
          i32.store offset=8
        end
        local.get $e
        i32.const 16
        i32.add
        local.set $e
        br $next
      end
    end
    i32.const 0
    global.set $memo_count)

  (func (export "dlsym") (param $handle i32) (param $name i32) (result i32)
    (local $r i32) (local $len i32) (local $h i32) (local $e i32) (local $copy i32)
    (local $value i32)
    local.get $name
    call $strlen
    local.set $len
    local.get $handle
    local.get $name
    local.get $len
    call $hash
    local.set $h
    global.get $memo_count
    if
      global.get $memo
      global.get $memo_cap
      local.get $h
      local.get $handle
      local.get $name
      call $probe
      local.tee $e
      i32.load offset=8
      if
        local.get $e
        i32.load offset=12
        return
      end
    end
    call $retarea
    local.set $r
    local.get $handle
    local.get $name
    local.get $len
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
    i32.load offset=4
    local.set $value
    ;; Remember it (best effort: without memory, just do not).
    call $memo_room
    i32.eqz
    if local.get $value return end
    local.get $len
    i32.const 1
    i32.add
    call $malloc
    local.tee $copy
    i32.eqz
    if local.get $value return end
    local.get $copy
    local.get $name
    local.get $len
    i32.const 1
    i32.add
    memory.copy
    global.get $memo
    global.get $memo_cap
    local.get $h
    i32.const 0
    i32.const 0
    call $probe
    local.tee $e
    local.get $h
    i32.store
    local.get $e
    local.get $handle
    i32.store offset=4
    local.get $e
    local.get $copy
    i32.store offset=8
    local.get $e
    local.get $value
    i32.store offset=12
    global.get $memo_count
    i32.const 1
    i32.add
    global.set $memo_count
    local.get $value)

  ;; dlsym(RTLD_NEXT, name) from library $caller: only the env module's per-library dlsym
  ;; wrappers import it (main may not: see shim.rs EXPORTS), so no handle stands for a caller.
  ;; Not memoized: the memo is keyed by handle.
  (func (export "__wasm_dl_dlsym_next") (param $caller i32) (param $name i32) (result i32)
    (local $r i32)
    call $retarea
    local.set $r
    local.get $caller
    local.get $name
    local.get $name
    call $strlen
    local.get $r
    call $sym_next
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
    call $flush
    ;; Run the destructors of the libraries unloaded now, in the provider's order (they may
    ;; call dl* themselves, which reuses the return area: keep the list in locals).
    local.get $r
    i32.load offset=4
    local.set $list
    local.get $r
    i32.load offset=8
    local.set $n
    i32.const {{OP_DESTRUCT}}
    local.get $list
    local.get $n
    call $each
    ;; Then give their table slots back (with main's ftfree), once no
    ;; destructor can call into any of them any more.
    i32.const {{OP_RELEASE}}
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
