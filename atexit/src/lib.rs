//! Per-library destructor lists: what glibc keys by `__dso_handle`
//! (`composer/src/synth/atexit.rs` says how libraries are bound to them).
//!
//! A library's `__cxa_atexit(func, arg, dso)` becomes [`register`]`(lib, func, arg)`: the entry
//! goes on that library's list, and the library's first registration also registers
//! `drain(lib)` with main's own `__cxa_atexit`. [`drain`]`(lib)` runs the list, most recent
//! first (entries added meanwhile run too), and frees it: at `dlclose`, or at exit for whatever
//! is still registered, as on Linux.
//!
//! The lists live in main's memory, `malloc`ed: at the first registration, `2 * libs` words
//! (each library's list head, then whether it is registered with main yet), and a 12-byte node
//! (func, arg, next) per entry. Like the dl shim this code keeps nothing in memory of its own and
//! uses no shadow stack; its state (`libs`, `lists`) is globals of the module it is fitted into,
//! read and written through the `wasm-dl-global` accessors. What Rust cannot say, taking a
//! table slot for `drain` and calling a destructor through main's table, the composer writes
//! (`wasm-dl-table`). Only the wasm build has content. The linked module is committed as
//! `atexit/wasm-dl-atexit.wasm`; rebuild it with `scripts/build-runtime.sh`.

#![cfg_attr(not(test), no_std)]

// Off wasm the (empty) cdylib links std for its panic handler.
#[cfg(all(not(test), not(target_arch = "wasm32")))]
extern crate std;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::arch::wasm32;

    mod state {
        #[link(wasm_import_module = "wasm-dl-global")]
        extern "C" {
            /// How many libraries the composition has (a constant).
            pub fn get_libs() -> u32;
            /// The `2 * libs` words, or 0 before the first registration.
            pub fn get_lists() -> u32;
            pub fn set_lists(value: u32);
        }
    }

    mod main {
        #[link(wasm_import_module = "main")]
        extern "C" {
            pub fn malloc(n: u32) -> u32;
            pub fn free(ptr: u32);
            pub fn __cxa_atexit(func: u32, arg: u32, dso: u32) -> i32;
        }
    }

    /// What the composer writes.
    mod table {
        #[link(wasm_import_module = "wasm-dl-table")]
        extern "C" {
            /// The table slot of `drain`, taken at the first call; `u32::MAX` when main's table
            /// has none to give.
            pub fn drain_slot() -> u32;
            /// Calls destructor `func` (a slot of main's table) with `arg`.
            pub fn call(func: u32, arg: u32);
        }
    }

    /// A word of main's memory.
    unsafe fn word(addr: u32) -> *mut u32 {
        addr as *mut u32
    }

    /// `__cxa_atexit` of library `lib`: 0, or -1 when out of memory (or table slots).
    ///
    /// # Safety
    /// Main's `malloc` returns memory of main's this code may use.
    #[no_mangle]
    pub unsafe extern "C" fn register(lib: u32, func: u32, arg: u32) -> i32 {
        let libs = state::get_libs();
        let Some(bytes) = libs.checked_mul(8) else {
            return -1;
        };
        if lib >= libs {
            return -1;
        }
        let mut lists = state::get_lists();
        if lists == 0 {
            lists = main::malloc(bytes);
            if lists == 0 {
                return -1;
            }
            let mut at = lists;
            while at < lists + bytes {
                *word(at) = 0;
                at += 4;
            }
            state::set_lists(lists);
        }
        let slot = table::drain_slot();
        if slot == u32::MAX {
            return -1;
        }
        // The first time: have main's exit drain this library's list too.
        let registered = word(lists + 4 * libs + 4 * lib);
        if *registered == 0 {
            *registered = 1;
            main::__cxa_atexit(slot, lib, 0);
        }
        let node = main::malloc(12);
        if node == 0 {
            return -1;
        }
        let head = word(lists + 4 * lib);
        *word(node) = func;
        *word(node + 4) = arg;
        *word(node + 8) = *head;
        *head = node;
        0
    }

    /// Runs library `lib`'s list, most recent first, and empties it.
    ///
    /// # Safety
    /// The list holds what [`register`] put there.
    #[no_mangle]
    pub unsafe extern "C" fn drain(lib: u32) {
        let lists = state::get_lists();
        if lists == 0 || lib >= state::get_libs() {
            return;
        }
        let head = word(lists + 4 * lib);
        loop {
            let node = *head;
            if node == 0 {
                return;
            }
            *head = *word(node + 8);
            table::call(*word(node), *word(node + 4));
            main::free(node);
        }
    }

    #[cfg(not(test))]
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        wasm32::unreachable()
    }
}
