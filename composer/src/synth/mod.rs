//! Pass 4: synthesize the modules of the composition (plain bytes, validated by the encoder).

pub mod atexit;
pub mod env;
pub mod library;
pub mod loader;
pub mod main_module;
pub mod merge;
pub mod plt;
pub mod rewrite;
pub mod root;
pub mod shim;
pub mod sjlj;
