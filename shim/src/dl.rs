//! The exported `dl*` functions and the loading of a load list.

use crate::sys::{load, main, provider, state, store, strlen};
use crate::{memo, scope, symtab};
use wasm_dl_abi::loader::{Alloc, Op};

/// The return area of the provider calls (36 bytes of main's memory: `addr`'s result is the
/// largest), allocated on first use.
/// Out of memory there traps: the shim cannot even report an error.
fn ret_area() -> *mut u8 {
    if state::ret::get() == 0 {
        // SAFETY: main's malloc.
        let area = unsafe { main::malloc(36) };
        state::ret::set(area as u32);
        if area.is_null() {
            core::arch::wasm32::unreachable()
        }
    }
    state::ret::get() as *mut u8
}

/// Makes `msg` (a NUL-terminated message from main's malloc) the pending `dlerror`.
pub(crate) fn set_error(msg: u32) {
    let pending = state::err::get();
    if pending != 0 {
        // SAFETY: the pending message came from main's malloc and nothing else holds it.
        unsafe { main::free(pending as *mut u8) };
    }
    state::err::set(msg);
}

/// Runs loader step `op` for the first `n` libraries of the load list at `list`.
///
/// # Safety
/// `list` holds at least `n` library ids.
unsafe fn each(op: Op, list: *const u32, n: u32) {
    for i in 0..n as usize {
        main::dispatch(op.code(), *list.add(i));
    }
}

/// What [`load_libraries`] returns when every library is loaded: no library id (an index
/// position) is this large. A plain `u32` rather than an `Option`: Rust returns an `Option<u32>`
/// through memory, which would need the shadow stack (see the crate docs).
const ALL_LOADED: u32 = u32::MAX;

/// Loads the `n` libraries of the load list at `list` (dependencies first) and frees the list.
/// Returns [`ALL_LOADED`], or the library that could not be placed (then nothing was relocated
/// or constructed) after recording why in `state::why`.
///
/// # Safety
/// `list` is a load list from the provider: `n` ids, in main's malloc'd memory unless `n` is 0.
unsafe fn load_libraries(list: *mut u32, n: u32) -> u32 {
    // Place every library first (so relocations can point into any of them), ...
    for i in 0..n {
        let lib = *list.add(i as usize);
        let answer = main::dispatch(Op::Alloc.code(), lib);
        if answer != Alloc::Ok.code() {
            // Any other answer is a `failure`: give back the slots of the libraries placed
            // before this one (nothing unless main exports ftfree): nothing of this load remains.
            state::why::set(answer as u32);
            each(Op::Release, list, i);
            if n != 0 {
                main::free(list.cast());
            }
            return lib;
        }
        let memory_base = main::dispatch(Op::MemoryBase.code(), lib);
        let table_base = main::dispatch(Op::TableBase.code(), lib);
        provider::loaded(lib, memory_base, table_base);
        symtab::placed(lib, memory_base as u32, table_base as u32);
    }
    // ... then relocate them all, then run constructors, dependencies first.
    each(Op::Relocate, list, n);
    each(Op::Construct, list, n);
    if n != 0 {
        main::free(list.cast());
    }
    ALL_LOADED
}

/// `void *dlopen(const char *name, int mode)` (from main: no RUNPATH but main's own).
///
/// # Safety
/// `name` is 0 or a NUL-terminated string in main's memory.
#[no_mangle]
pub unsafe extern "C" fn dlopen(name: *const u8, mode: i32) -> u32 {
    let r = ret_area();
    let (is_some, len) = if name.is_null() {
        (0, 0)
    } else {
        (1, strlen(name))
    };
    provider::open(is_some, name, len, mode, r);
    opened(r)
}

/// `dlopen(name, mode)` from library `caller`, whose RUNPATH a name without `/` is searched
/// in. Only the env module's per-library `dlopen` wrappers import it (main may not: see the
/// composer's `dlfcn::EXPORTS`).
///
/// # Safety
/// `name` is 0 or a NUL-terminated string in main's memory.
#[no_mangle]
pub unsafe extern "C" fn __wasm_dl_dlopen_from(caller: u32, name: *const u8, mode: i32) -> u32 {
    let r = ret_area();
    let (is_some, len) = if name.is_null() {
        (0, 0)
    } else {
        (1, strlen(name))
    };
    provider::open_from(caller, is_some, name, len, mode, r);
    opened(r)
}

/// The rest of a `dlopen`, once the provider answered into the return area `r`: the error, or
/// the libraries of the load list placed, relocated and constructed, and the handle.
///
/// # Safety
/// `r` is the return area an `open` or `open-from` call just filled.
unsafe fn opened(r: *mut u8) -> u32 {
    if *r != 0 {
        set_error(load(r, 4));
        return 0;
    }
    // Constructors may call dl* again (reusing the return area): keep what is needed.
    let handle = load(r, 4);
    // A dlopen can change search orders (RTLD_GLOBAL): forget memoized lookups and orders.
    memo::flush();
    scope::flush();
    let lib = load_libraries(load(r, 8) as *mut u32, load(r, 12));
    if lib != ALL_LOADED {
        // A library could not be placed: the provider forgets this open; dlopen fails.
        let r = ret_area();
        provider::abort(handle, lib, state::why::get() as i32, r);
        set_error(load(r, 0));
        return 0;
    }
    symtab::opened(handle);
    handle
}

/// Before main's `_start`: loads the libraries main was linked against.
///
/// # Safety
/// Called once, by the composition's start-up code.
#[no_mangle]
pub unsafe extern "C" fn __wasm_dl_startup() {
    let r = ret_area();
    provider::startup(r);
    // Only a corrupt index fails here, and main cannot run without its libraries.
    if *r != 0 {
        core::arch::wasm32::unreachable()
    }
    if load_libraries(load(r, 4) as *mut u32, load(r, 8)) != ALL_LOADED {
        // Out of memory before main even starts.
        core::arch::wasm32::unreachable()
    }
}

/// `void *dlsym(void *handle, const char *name)`: memoized (see `memo`); a name a library
/// handle's library defines itself is found in its symbol table (see `symtab`), without the
/// provider and without a memo entry (that lookup is as fast as the memo's); any other is
/// looked up along the handle's search order (see `scope`).
///
/// # Safety
/// `name` is a NUL-terminated string in main's memory.
#[no_mangle]
pub unsafe extern "C" fn dlsym(handle: u32, name: *const u8) -> u32 {
    let (len, fnv) = hashed(name);
    let hash = memo::hash(handle, fnv);
    if let Some(value) = memo::get(hash, handle, name) {
        return value;
    }
    let own = symtab::find(handle, fnv, name);
    if own != 0 {
        return own;
    }
    let value = scope::sym(handle, fnv, name, len, ret_area());
    if value != 0 {
        memo::put(hash, handle, name, len, value);
    }
    value
}

/// The length and FNV-1a hash of the NUL-terminated `name`, in one pass.
///
/// # Safety
/// `name` is a NUL-terminated string.
#[inline(always)]
unsafe fn hashed(name: *const u8) -> (usize, u32) {
    let mut len = 0;
    let mut fnv = wasm_dl_abi::symtab::FNV_START;
    loop {
        let c = *name.add(len);
        if c == 0 {
            break;
        }
        fnv = wasm_dl_abi::symtab::fnv_step(fnv, c);
        len = len.wrapping_add(1);
    }
    (len, fnv)
}

/// The answer of a provider `sym` or `sym-next` call in the return area `r`: the value (its
/// slot filled: [`filled`]), or 0 with the pending `dlerror` set.
///
/// # Safety
/// `r` is the return area such a call just filled.
pub(crate) unsafe fn answer(r: *mut u8) -> u32 {
    if *r != 0 {
        set_error(load(r, 4));
        return 0;
    }
    filled(load(r, 4))
}

/// `value`, a `dlsym` answer, after the loader filled its function slot if it is one that a
/// library's init left null ([`Op::Fill`]: init fills only the slots the composition refers
/// to at compose time). A memoized answer was filled on its first lookup.
pub(crate) fn filled(value: u32) -> u32 {
    // SAFETY: main's dispatch, with an op that takes any value.
    unsafe { main::dispatch(Op::Fill.code(), value) };
    value
}

/// `dlsym(RTLD_NEXT, name)` from library `caller`: only the env module's per-library `dlsym`
/// wrappers import it (main may not: see the composer's `dlfcn::DLSYM_NEXT`), so no handle
/// stands for a caller. Not memoized: the memo is keyed by handle.
///
/// # Safety
/// `name` is a NUL-terminated string in main's memory.
#[no_mangle]
pub unsafe extern "C" fn __wasm_dl_dlsym_next(caller: u32, name: *const u8) -> u32 {
    let (len, fnv) = hashed(name);
    scope::sym_next(caller, fnv, name, len, ret_area())
}

/// `int dlclose(void *handle)`.
///
/// # Safety
/// Called by C code in the composition (any handle value is checked by the provider).
#[no_mangle]
pub unsafe extern "C" fn dlclose(handle: u32) -> i32 {
    let r = ret_area();
    provider::close(handle, r);
    if *r != 0 {
        set_error(load(r, 4));
        return -1;
    }
    symtab::closed(handle);
    memo::flush();
    scope::flush();
    // Run the destructors of the libraries unloaded now, in the provider's order (they may call
    // dl* themselves, which reuses the return area: keep the list).
    let list = load(r, 4) as *mut u32;
    let n = load(r, 8);
    each(Op::Destruct, list, n);
    // Then give their table slots back (with main's ftfree), once no destructor can call into
    // any of them any more.
    each(Op::Release, list, n);
    if n != 0 {
        main::free(list.cast());
    }
    0
}

/// `int dladdr(const void *address, Dl_info *info)`: the provider's strings stay allocated
/// (never freed), as `Dl_info`'s strings must outlive the call.
///
/// # Safety
/// `info` points to a writable `Dl_info` (four 32-bit fields) in main's memory.
#[no_mangle]
pub unsafe extern "C" fn dladdr(address: u32, info: *mut u8) -> i32 {
    let r = ret_area();
    provider::addr(address, r);
    if *r == 0 {
        return 0;
    }
    store(info, 0, load(r, 4)); // dli_fname
    store(info, 4, load(r, 12)); // dli_fbase
    let sname = if load(r, 20) != 0 { load(r, 16) } else { 0 };
    store(info, 8, sname); // dli_sname
    store(info, 12, load(r, 24)); // dli_saddr
    if sname == 0 {
        // The provider holds no names of a library with a table: the shim finds its symbol.
        symtab::addr(load(r, 28), *r.add(32) != 0, address, info);
    }
    1
}

/// `char *dlerror(void)`: the pending message, kept until the next call.
#[no_mangle]
pub extern "C" fn dlerror() -> u32 {
    let given = state::given::get();
    if given != 0 {
        // SAFETY: the message came from main's malloc, and C may use it only until this call.
        unsafe { main::free(given as *mut u8) };
    }
    state::given::set(state::err::get());
    state::err::set(0);
    state::given::get()
}

/// The canonical ABI's allocator for the provider's results: lists land in main's memory, from
/// main's `malloc` (the shim frees them there). Only fresh allocations are asked for.
#[no_mangle]
pub extern "C" fn cabi_import_realloc(_ptr: u32, _old: u32, _align: u32, size: usize) -> u32 {
    // SAFETY: main's malloc.
    unsafe { main::malloc(size) as u32 }
}
