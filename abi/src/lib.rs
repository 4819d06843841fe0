//! Contracts that the composer (at compose time) and the provider component (at run time) must
//! apply identically, written once. `no_std` and dependency-free, so the provider's wasm build
//! uses it as it is.

#![no_std]

pub mod path;
pub mod system;
