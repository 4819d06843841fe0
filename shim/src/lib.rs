//! The dl shim: the C ABI of `include/dlfcn.h` (`dlopen`, `dlsym`, `dlclose`, `dlerror`,
//! `dladdr`, and `__wasm_dl_dlsym_next` for the composer's per-library `dlsym` wrappers) in front
//! of the provider's `wasm-dl:dl/dl` interface (`wit/dl.wit`).
//!
//! It is a wit-component *adapter* of the main module: main imports the `dl*` functions from the
//! module `wasm-dl`, and the shim works in main's memory. It reads C strings there, calls the
//! provider through canonical-ABI lowerings whose lists land there too (`cabi_import_realloc` is
//! main's `malloc`), and runs the loader steps for the libraries the provider says must be loaded
//! through main's `__wasm_dl_dispatch(op, lib)` (`wasm_dl_abi::loader`).
//!
//! wit-component's adapter rules (`wit-component/src/encoding.rs`, module docs; enforced by
//! `gc.rs`, `Module::parse` and `Module::encode`) shape the code:
//! - no data, element or table sections: no static data (no string literals, no panic messages,
//!   no statics in memory), no indirect calls (no function pointers, no `dyn`);
//! - the memory is imported (main's): the shim must not write anywhere it did not get from main's
//!   `malloc`. Its state therefore lives in wasm globals (`sys::state`), and no function may use
//!   the shadow stack (its linker-given place in memory is main's data). The composer
//!   (`composer/src/synth/runtime.rs`) turns the linked module into the adapter and fails if
//!   either rule is broken.
//!
//! Only the wasm build has content; off wasm the crate is empty (it is a workspace member).
//! The linked module is committed as `shim/wasm-dl-shim.wasm`; rebuild it with
//! `scripts/build-runtime.sh` (the composer's `runtime_fresh` test checks it is current).

#![cfg_attr(not(test), no_std)]

// Off wasm the (empty) cdylib links std for its panic handler.
#[cfg(all(not(test), not(target_arch = "wasm32")))]
extern crate std;

#[cfg(target_arch = "wasm32")]
mod dl;
#[cfg(target_arch = "wasm32")]
mod memo;
#[cfg(target_arch = "wasm32")]
mod scope;
#[cfg(target_arch = "wasm32")]
mod symtab;
#[cfg(target_arch = "wasm32")]
mod sys;

/// The Rust allocator is main's `malloc` (wasm-dl-abi links `alloc`; the shim itself allocates
/// through `sys::main` directly).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: sys::MainMalloc = sys::MainMalloc;

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
