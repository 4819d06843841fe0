//! The memory layout of the root module the composer synthesizes for an all-PIC input set
//! (`composer/src/synth/root.rs`), as far as its allocator (the `wasm-dl-root-alloc` crate)
//! relies on it.

/// The address of the allocator's free-list heads: one `u32` per block size 2^c (c < 32),
/// below the stack (which starts at [`STACK_LOW`]).
pub const FREE_LISTS: u32 = 512;
/// The stack's bottom: the first KiB stays unused (no object sits at or near NULL) but for the
/// free-list heads.
pub const STACK_LOW: u32 = 1024;

/// The allocator's state the root keeps in its globals, by the name the allocator reads and
/// writes it under: the next free byte of the current bump run, and that run's end.
pub const ALLOC_STATE: [&str; 2] = ["next", "end"];

const _: () = assert!(FREE_LISTS + 32 * 4 <= STACK_LOW);
