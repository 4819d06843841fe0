//! The main module's table allocator (`include/wasm-dl/ftalloc.h`): the seed's `ftalloc`.
//!
//! A main module that manages slots of its own function table (callbacks or generated
//! functions installed into free slots at run time, slots it frees and reuses) exports
//! `ftalloc`, and optionally `ftfree`, beside `malloc`. Then every table range wasm-dl takes at
//! run time comes from `ftalloc` instead of `table.grow`: a library's table slots and its
//! function slots when it is placed, and the slot of the destructor-list drain function. The
//! composer checks the exports' types, the loader and the destructor-list module call them, and
//! the provider words the `dlerror` message when `ftalloc` fails.

/// Export name of `size_t ftalloc(size_t count, size_t align)`: the first index of `count`
/// consecutive free slots of main's `__indirect_function_table`, a multiple of `align` (a
/// power of two), or [`FTALLOC_FAILED`]. wasm-dl clears the slots before it fills them.
pub const FTALLOC_EXPORT: &str = "ftalloc";

/// Export name of `void ftfree(size_t first, size_t count)`: gives back a range `ftalloc`
/// handed out, whole (the same `first` and `count`). wasm-dl calls it when `dlclose` unloads a
/// library (after its destructors ran, with the slots cleared to NULL) and when a `dlopen`
/// fails after some libraries of its load set were placed. Without it, a library keeps its
/// slots for its next `dlopen`, as it does without `ftalloc`.
pub const FTFREE_EXPORT: &str = "ftfree";

/// What `ftalloc` returns when it cannot give the slots: `(size_t)-1`, the value `table.grow`
/// fails with. The `dlopen` that asked then returns NULL and nothing of it remains.
pub const FTALLOC_FAILED: u32 = u32::MAX;
