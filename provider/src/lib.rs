//! The wasm-dl provider: owns the library index the composer generates and the `dlopen`/`dlsym`/
//! `dlclose` state, and exports them as the `wasm-dl:dl/dl` interface (world `provider` of
//! `wit/dl.wit`).
//!
//! Everything but the thin wasm glue at the bottom is plain Rust, unit-tested on the host.
//! The built component is committed as `provider/wasm-dl-provider.wasm`; rebuild it with
//! `scripts/build-provider.sh` (the `provider_fresh` test of the composer checks it is current).

#![warn(missing_docs)]
#![cfg_attr(not(test), no_std)]

extern crate alloc;

// Off wasm the crate (built as a cdylib too) links std for its allocator and panic handler; the
// code itself stays `no_std`.
#[cfg(all(not(test), not(target_arch = "wasm32")))]
extern crate std;

pub mod dl;
pub mod index;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
mod glue {
    use crate::dl::{Dl, Handle};
    use alloc::vec::Vec;
    use core::cell::UnsafeCell;

    wit_bindgen::generate!({
        world: "provider",
        path: "../wit",
        // The WASI interface it imports (`wit/deps`) is generated here too.
        generate_all,
    });

    use exports::wasm_dl::dl::dl::{AddrInfo, Failure, Guest, Opened};

    #[global_allocator]
    static ALLOC: Alloc = Alloc(UnsafeCell::new(core::ptr::null_mut()));

    /// Allocations of at most this many bytes (and alignment at most [`SMALL_ALIGN`]) are all
    /// given a block of this size, so that any freed one can serve the next.
    const SMALL: usize = 64;
    /// The largest alignment a small block has.
    const SMALL_ALIGN: usize = 8;

    /// dlmalloc with a one-block cache of small blocks. Every `sym` call gets its name in a
    /// fresh allocation (the canonical ABI calls `cabi_realloc`) that is freed when the call
    /// returns: the cache makes that pair two loads and stores instead of a dlmalloc `malloc`
    /// and `free` (about 15% of a first `dlsym`'s instructions in the provider component).
    struct Alloc(UnsafeCell<*mut u8>);

    // SAFETY: wasm32 without threads (as `State`).
    unsafe impl Sync for Alloc {}

    fn small(l: core::alloc::Layout) -> bool {
        l.size() <= SMALL && l.align() <= SMALL_ALIGN
    }

    /// The layout every small block is allocated with.
    const SMALL_LAYOUT: core::alloc::Layout =
        match core::alloc::Layout::from_size_align(SMALL, SMALL_ALIGN) {
            Ok(l) => l,
            Err(_) => panic!(),
        };

    // SAFETY: each block is dlmalloc's, freed with the layout it was allocated with (small
    // blocks: `SMALL_LAYOUT`); the cache holds at most one block that nothing else holds.
    unsafe impl core::alloc::GlobalAlloc for Alloc {
        unsafe fn alloc(&self, l: core::alloc::Layout) -> *mut u8 {
            if !small(l) {
                return dlmalloc::GlobalDlmalloc.alloc(l);
            }
            let cached = *self.0.get();
            if cached.is_null() {
                return dlmalloc::GlobalDlmalloc.alloc(SMALL_LAYOUT);
            }
            *self.0.get() = core::ptr::null_mut();
            cached
        }

        unsafe fn dealloc(&self, p: *mut u8, l: core::alloc::Layout) {
            if !small(l) {
                return dlmalloc::GlobalDlmalloc.dealloc(p, l);
            }
            if (*self.0.get()).is_null() {
                *self.0.get() = p;
            } else {
                dlmalloc::GlobalDlmalloc.dealloc(p, SMALL_LAYOUT);
            }
        }

        unsafe fn realloc(&self, p: *mut u8, l: core::alloc::Layout, size: usize) -> *mut u8 {
            let Ok(new) = core::alloc::Layout::from_size_align(size, l.align()) else {
                return core::ptr::null_mut();
            };
            match (small(l), small(new)) {
                (true, true) => p,
                (false, false) => dlmalloc::GlobalDlmalloc.realloc(p, l, size),
                _ => {
                    let q = self.alloc(new);
                    if !q.is_null() {
                        core::ptr::copy_nonoverlapping(p, q, l.size().min(size));
                        self.dealloc(p, l);
                    }
                    q
                }
            }
        }
    }

    #[cfg(not(test))]
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }

    /// The state, created at the first call from the index the composer placed in memory.
    struct State(UnsafeCell<Option<Dl>>);

    // SAFETY: wasm32 without threads: one thread only, and no call re-enters (`index::get` does
    // not call back into the provider).
    unsafe impl Sync for State {}

    static STATE: State = State(UnsafeCell::new(None));

    fn with<R>(f: impl FnOnce(&mut Dl) -> R) -> R {
        // SAFETY: see `State`; the borrow ends before `with` returns.
        let slot = unsafe { &mut *STATE.0.get() };
        let dl = slot.get_or_insert_with(|| {
            let mut dl = Dl::new(index());
            dl.set_library_path(library_path());
            dl
        });
        f(dl)
    }

    /// `LD_LIBRARY_PATH` of the component's environment, if set.
    fn library_path() -> Option<Vec<u8>> {
        wasi::cli::environment::get_environment()
            .into_iter()
            .find(|(k, _)| k == "LD_LIBRARY_PATH")
            .map(|(_, v)| v.into_bytes())
    }

    /// The encoded index, where the composer placed it in this module's memory (the imported
    /// `index` interface says where; see `wit/dl.wit`). A location outside the memory gives an
    /// empty index, which `Dl` reports as corrupt.
    fn index() -> &'static [u8] {
        let at = wasm_dl::dl::index::get();
        let memory = core::arch::wasm32::memory_size(0) as u64 * 65536;
        let end = u64::from(at.offset) + u64::from(at.len);
        if at.offset == 0 || end > memory {
            return &[];
        }
        // SAFETY: the range lies in linear memory, which never shrinks; the composer placed the
        // index there in pages past the module's initial memory, which the allocator (dlmalloc
        // takes only the linker's heap, which ends at the initial memory, and pages it gets from
        // `memory.grow`) never hands out, and nothing writes.
        unsafe { core::slice::from_raw_parts(at.offset as usize as *const u8, at.len as usize) }
    }

    struct Provider;

    impl Guest for Provider {
        fn open(name: Option<Vec<u8>>, mode: i32) -> Result<Opened, Vec<u8>> {
            with(|dl| dl.open(name.as_deref(), mode)).map(|o| Opened {
                handle: o.handle.0,
                load: o.load,
            })
        }

        fn open_from(caller: u32, name: Option<Vec<u8>>, mode: i32) -> Result<Opened, Vec<u8>> {
            with(|dl| dl.open_from(Some(caller), name.as_deref(), mode)).map(|o| Opened {
                handle: o.handle.0,
                load: o.load,
            })
        }

        fn startup() -> Result<Vec<u32>, Vec<u8>> {
            with(|dl| dl.startup())
        }

        fn abort(handle: u32, lib: u32, why: Failure) -> Vec<u8> {
            let why = match why {
                Failure::Memory => crate::dl::Failure::Memory,
                Failure::Table => crate::dl::Failure::Table,
                Failure::Allocator => crate::dl::Failure::Allocator,
                Failure::AllocatorRange => crate::dl::Failure::AllocatorRange,
            };
            with(|dl| dl.abort(Handle(handle), lib, why))
        }

        fn loaded(lib: u32, memory_base: u32, table_base: u32) {
            with(|dl| dl.loaded(lib, memory_base, table_base))
        }

        fn sym(handle: u32, name: Vec<u8>, before: u32) -> Result<u32, Vec<u8>> {
            with(|dl| dl.sym_before(Handle(handle), &name, before))
        }

        fn sym_next(caller: u32, name: Vec<u8>, before: u32) -> Result<u32, Vec<u8>> {
            with(|dl| dl.sym_next_before(caller, &name, before))
        }

        fn scope(handle: u32) -> Result<Vec<u32>, Vec<u8>> {
            with(|dl| dl.scope(Handle(handle)))
        }

        fn scope_next(caller: u32) -> Result<Vec<u32>, Vec<u8>> {
            with(|dl| dl.scope_next(caller))
        }

        fn close(handle: u32) -> Result<Vec<u32>, Vec<u8>> {
            with(|dl| dl.close(Handle(handle)))
        }

        fn addr(address: u32) -> Option<AddrInfo> {
            with(|dl| dl.addr(address)).map(|a| AddrInfo {
                fname: a.fname,
                fbase: a.fbase,
                sname: a.sname,
                saddr: a.saddr,
                lib: a.lib,
                function: a.function,
            })
        }
    }

    export!(Provider);
}
