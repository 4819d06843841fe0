//! What the shim imports: main's allocator and loader dispatch, the provider's lowered `dl`
//! functions, and its own state as wasm globals; plus the memory helpers every part uses.

/// Main's exports (wit-component's `__main_module__` import module).
pub mod main {
    #[link(wasm_import_module = "__main_module__")]
    extern "C" {
        /// Main's `malloc`: all the memory the shim uses comes from it.
        pub fn malloc(size: usize) -> *mut u8;
        /// Main's `free`.
        pub fn free(ptr: *mut u8);
        /// The loader: runs step `op` (`wasm_dl_abi::loader::Op`) for library `lib`.
        #[link_name = "__wasm_dl_dispatch"]
        pub fn dispatch(op: i32, lib: u32) -> i32;
    }
}

/// Main's `malloc` as a Rust allocator. Main's `malloc` aligns to 16 bytes (wasi-libc's
/// dlmalloc), so more alignment is refused.
pub struct MainMalloc;

/// The alignment main's `malloc` guarantees.
const MALLOC_ALIGN: usize = 16;

// SAFETY: main's malloc/free are a correct allocator for layouts of at most its alignment.
unsafe impl core::alloc::GlobalAlloc for MainMalloc {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() > MALLOC_ALIGN {
            return core::ptr::null_mut();
        }
        main::malloc(layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _: core::alloc::Layout) {
        main::free(ptr)
    }
}

/// The provider's `wasm-dl:dl/dl@0.1.0` functions as wit-component lowers them into the shim:
/// strings as (pointer, length), results through a return area `ret` in main's memory.
pub mod provider {
    #[link(wasm_import_module = "wasm-dl:dl/dl@0.1.0")]
    extern "C" {
        /// `open(name: option<list<u8>>, mode) -> result<opened, list<u8>>`: byte 0 = 1 on
        /// error; ok: handle @4, load list ptr @8, len @12; error: message ptr @4, len @8.
        #[link_name = "open"]
        pub fn open(is_some: u32, name: *const u8, len: usize, mode: i32, ret: *mut u8);
        /// `open-from(caller, name: option<list<u8>>, mode) -> result<opened, list<u8>>`, as
        /// `open`.
        #[link_name = "open-from"]
        pub fn open_from(
            caller: u32,
            is_some: u32,
            name: *const u8,
            len: usize,
            mode: i32,
            ret: *mut u8,
        );
        /// `loaded(lib, memory-base, table-base)`.
        #[link_name = "loaded"]
        pub fn loaded(lib: u32, memory_base: i32, table_base: i32);
        /// `abort(handle, lib, why: failure) -> list<u8>`: message ptr @0, len @4.
        #[link_name = "abort"]
        pub fn abort(handle: u32, lib: u32, why: i32, ret: *mut u8);
        /// `startup() -> result<list<u32>, list<u8>>`: byte 0 = 1 on error; list ptr @4, len @8.
        #[link_name = "startup"]
        pub fn startup(ret: *mut u8);
        /// `sym(handle, name, before) -> result<u32, list<u8>>`: ok value @4; error ptr @4,
        /// len @8.
        #[link_name = "sym"]
        pub fn sym(handle: u32, name: *const u8, len: usize, before: u32, ret: *mut u8);
        /// `sym-next(caller, name, before) -> result<u32, list<u8>>`, as `sym`.
        #[link_name = "sym-next"]
        pub fn sym_next(caller: u32, name: *const u8, len: usize, before: u32, ret: *mut u8);
        /// `scope(handle) -> result<list<u32>, list<u8>>`: byte 0 = 1 on error; ptr @4, len @8
        /// either way.
        #[link_name = "scope"]
        pub fn scope(handle: u32, ret: *mut u8);
        /// `scope-next(caller) -> result<list<u32>, list<u8>>`, as `scope`.
        #[link_name = "scope-next"]
        pub fn scope_next(caller: u32, ret: *mut u8);
        /// `close(handle) -> result<list<u32>, list<u8>>`: ptr @4, len @8 either way.
        #[link_name = "close"]
        pub fn close(handle: u32, ret: *mut u8);
        /// `addr(address) -> option<addr-info>`: byte 0 = 1 when found; fname ptr @4, len @8,
        /// fbase @12, sname ptr @16, len @20, saddr @24, lib @28, function (a byte) @32.
        #[link_name = "addr"]
        pub fn addr(address: u32, ret: *mut u8);
    }
}

/// Declares one `u32` of shim state. Rust cannot define a wasm global, and a static would live
/// in main's memory at an address the shim's linker chose; so the state is read and written
/// through imports `wasm-dl-global.get_NAME`/`set_NAME`, which the composer
/// (`composer/src/synth/runtime.rs`) replaces with `global.get`/`global.set` of one mutable
/// `i32` global per name.
macro_rules! globals {
    ($($(#[$doc:meta])* $name:ident: $get:ident, $set:ident;)*) => {
        $(
            $(#[$doc])*
            pub mod $name {
                #[link(wasm_import_module = "wasm-dl-global")]
                extern "C" {
                    fn $get() -> u32;
                    fn $set(value: u32);
                }
                /// The current value (0 at start).
                #[inline(always)]
                pub fn get() -> u32 {
                    // SAFETY: becomes a `global.get`.
                    unsafe { $get() }
                }
                /// Sets the value.
                #[inline(always)]
                pub fn set(value: u32) {
                    // SAFETY: becomes a `global.set`.
                    unsafe { $set(value) }
                }
            }
        )*
    };
}

/// The shim's state.
pub mod state {
    globals! {
        /// The 36-byte return area of the provider calls, `malloc`'d on first use.
        ret: get_ret, set_ret;
        /// The pending `dlerror` message (NUL-terminated) or 0.
        err: get_err, set_err;
        /// The message `dlerror` returned last, freed at its next call.
        given: get_given, set_given;
        /// Why the last placement failed (`wasm_dl_abi::loader::Alloc`, a WIT `failure`).
        why: get_why, set_why;
        /// The `dlsym` memo's table (see `memo`), or 0.
        memo: get_memo, set_memo;
        /// Its capacity in entries (a power of two, or 0).
        memo_cap: get_memo_cap, set_memo_cap;
        /// Its number of used entries.
        memo_count: get_memo_count, set_memo_count;
        /// The newest chunk of its name copies (see `memo`), or 0.
        memo_chunk: get_memo_chunk, set_memo_chunk;
        /// The bytes used of that chunk (its link included).
        memo_chunk_used: get_memo_chunk_used, set_memo_chunk_used;
        /// The memo of search orders (see `scope`), or 0.
        scopes: get_scopes, set_scopes;
        /// The address of the symbol tables in main's memory (see `symtab`), or 0: the one
        /// state the composer starts at another value (`composer/src/synth/shim.rs`); never set.
        #[allow(dead_code)]
        symtab: get_symtab, set_symtab;
    }
}

/// The `u32` at byte `offset` of `base` (a return area or entry in main's memory).
///
/// # Safety
/// `base + offset` is a readable, 4-byte aligned address.
#[inline(always)]
pub unsafe fn load(base: *const u8, offset: usize) -> u32 {
    base.add(offset).cast::<u32>().read()
}

/// Writes the `u32` at byte `offset` of `base`.
///
/// # Safety
/// `base + offset` is a writable, 4-byte aligned address.
#[inline(always)]
pub unsafe fn store(base: *mut u8, offset: usize, value: u32) {
    base.add(offset).cast::<u32>().write(value)
}

/// The length of the NUL-terminated string at `s`.
///
/// # Safety
/// `s` points to a NUL-terminated string.
pub unsafe fn strlen(s: *const u8) -> usize {
    let mut len = 0;
    while *s.add(len) != 0 {
        len = len.wrapping_add(1);
    }
    len
}
