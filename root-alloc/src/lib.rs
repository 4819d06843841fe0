//! `malloc`/`free` of the root module the composer synthesizes for an all-PIC input set
//! (`composer/src/synth/root.rs`). The loader and the dl shim need them before libc's allocator
//! (a library) is loaded, and they must never hand out memory libc's allocator also uses: so
//! blocks come from the page of the root's initial memory past the stack (libc's heap starts
//! empty, at `__heap_end`, and grows memory itself), then from pages this allocator grows.
//!
//! Blocks of 2^c bytes (c >= 5) with a 16-byte header (c, then the free-list link): a freed
//! block goes on its class's list (heads at `wasm_dl_abi::root::FREE_LISTS`) and is reused
//! first; otherwise bump allocation, 16-byte aligned, with a fresh run of pages when the current
//! one is full.
//!
//! The composer fits the linked module into the root (`composer/src/synth/runtime.rs`): like the
//! dl shim, it keeps no data in memory of its own and uses no shadow stack; its two words of
//! state (`wasm_dl_abi::root::ALLOC_STATE`) are globals of the root, read and written through
//! the `wasm-dl-global` accessors. Only the wasm build has content. The linked module is
//! committed as `root-alloc/wasm-dl-root-alloc.wasm`; rebuild it with `scripts/build-runtime.sh`.

#![cfg_attr(not(test), no_std)]

// Off wasm the (empty) cdylib links std for its panic handler.
#[cfg(all(not(test), not(target_arch = "wasm32")))]
extern crate std;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::arch::wasm32;
    use wasm_dl_abi::root::FREE_LISTS;

    /// The state: the bump run's next free byte and its end (the root initializes both).
    mod state {
        #[link(wasm_import_module = "wasm-dl-global")]
        extern "C" {
            pub fn get_next() -> u32;
            pub fn set_next(value: u32);
            pub fn get_end() -> u32;
            pub fn set_end(value: u32);
        }
    }

    /// The size of a block's header.
    const HEADER: u32 = 16;
    /// The smallest block class (32 bytes).
    const MIN_CLASS: u32 = 5;
    /// The largest request served (a block of 2^31 bytes with its header).
    const MAX_REQUEST: u32 = 0x7fff_0000;

    /// The free-list head of class `c`.
    fn head(c: u32) -> *mut u32 {
        (FREE_LISTS + 4 * c) as *mut u32
    }

    /// `void *malloc(size_t n)`: 0 when out of memory.
    ///
    /// # Safety
    /// Only the root's loader and the dl shim call it, with the root's memory laid out as
    /// `wasm_dl_abi::root` says.
    #[no_mangle]
    pub unsafe extern "C" fn malloc(n: u32) -> u32 {
        if n > MAX_REQUEST {
            return 0;
        }
        let c = (32 - (n + (HEADER - 1)).leading_zeros()).max(MIN_CLASS);
        let free = *head(c);
        if free != 0 {
            *head(c) = *((free + 4) as *const u32);
            return free + HEADER;
        }
        let size = 1u32 << c;
        if state::get_next().wrapping_add(size) > state::get_end() {
            let pages = (size + 0xffff) >> 16;
            let first = wasm32::memory_grow(0, pages as usize);
            if first == usize::MAX {
                return 0;
            }
            let first = first as u32;
            state::set_next(first << 16);
            state::set_end((first + pages) << 16);
        }
        let block = state::get_next();
        state::set_next(block + size);
        *(block as *mut u32) = c;
        block + HEADER
    }

    /// `void free(void *ptr)`.
    ///
    /// # Safety
    /// `ptr` is 0 or came from [`malloc`] and is not freed yet.
    #[no_mangle]
    pub unsafe extern "C" fn free(ptr: u32) {
        if ptr == 0 {
            return;
        }
        let block = ptr.wrapping_sub(HEADER);
        let c = *(block as *const u32);
        *((block + 4) as *mut u32) = *head(c);
        *head(c) = block;
    }

    /// The Rust allocator (wasm-dl-abi links `alloc`; nothing here allocates).
    struct Root;

    // SAFETY: malloc aligns blocks to 16 bytes; larger alignments are refused.
    unsafe impl core::alloc::GlobalAlloc for Root {
        unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
            if layout.align() > HEADER as usize {
                return core::ptr::null_mut();
            }
            malloc(layout.size() as u32) as *mut u8
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _: core::alloc::Layout) {
            free(ptr as u32)
        }
    }

    #[global_allocator]
    static ALLOCATOR: Root = Root;

    #[cfg(not(test))]
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        wasm32::unreachable()
    }
}
