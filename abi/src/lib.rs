//! Contracts that the composer (at compose time) and the provider component (at run time) must
//! apply identically, written once. `no_std` and dependency-free, so the provider's wasm build
//! uses it as it is.

#![warn(missing_docs)]
#![no_std]

extern crate alloc;

pub mod dl;
pub mod ftalloc;
pub mod index;
pub mod loader;
pub mod order;
pub mod path;
pub mod root;
pub mod symtab;
pub mod system;
