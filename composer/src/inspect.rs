//! One input read as `wasm-dl compose` reads it, without composing: what a shared library needs
//! and offers, what a main module is. The checks and the errors are the compose pass's own (the
//! module is validated first); the passes' data types stay private.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let input = wasm_dl::Input {
//!     name: "libgreet.so".into(),
//!     bytes: std::fs::read("libgreet.so")?,
//! };
//! let lib = wasm_dl::inspect::library(&input)?;
//! println!("{} bytes of memory, needs {:?}", lib.mem_size, lib.needed);
//! # Ok(()) }
//! ```

use crate::{parse, synth, Input, DL_MODULE};
use anyhow::Result;

/// What wasm-dl reads from a shared library (`wasm-ld -shared` output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibrarySummary {
    /// Bytes of memory it needs (`dylink.0` MEM_INFO memory size).
    pub mem_size: u32,
    /// Their alignment, log2.
    pub mem_align: u32,
    /// Table slots its element segments fill (MEM_INFO table size).
    pub table_size: u32,
    /// Its NEEDED libraries, as written.
    pub needed: Vec<String>,
    /// Its RUNPATH entries, as written (`$ORIGIN` unexpanded).
    pub runpath: Vec<String>,
    /// Every import, as (module, field), in order.
    pub imports: Vec<(String, String)>,
    /// The function symbols it exports (what `dlsym` can find), in export order.
    pub funcs: Vec<String>,
    /// The data symbols it exports, with their offsets from its memory base.
    pub data: Vec<(String, u32)>,
    /// Its constructor entry point (`__wasm_call_ctors` or `_initialize`), run when it is placed.
    pub ctor: Option<String>,
    /// Whether it exports `__wasm_call_dtors` (run by `dlclose` and at exit).
    pub dtor: bool,
}

/// Validates `input` and reads it as a shared library; the error is the one `compose` gives.
pub fn library(input: &Input) -> Result<LibrarySummary> {
    let lib = parse::library(input)?;
    Ok(LibrarySummary {
        mem_size: lib.mem_size,
        mem_align: lib.mem_align,
        table_size: lib.table_size,
        needed: lib.needed,
        runpath: lib.runpath,
        imports: lib
            .imports
            .into_iter()
            .map(|i| (i.module, i.field))
            .collect(),
        funcs: lib.funcs.into_iter().map(|(name, _)| name).collect(),
        data: lib.data,
        ctor: lib.ctor,
        dtor: lib.dtor,
    })
}

/// What wasm-dl reads from a main module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MainSummary {
    /// A position-independent main (`-shared` or `-pie`, with `dylink.0`): the set is all-PIC
    /// and wasm-dl synthesizes the module that defines memory and table.
    pub position_independent: bool,
    /// Its NEEDED libraries, as written.
    pub needed: Vec<String>,
    /// The `dl*` functions it imports from wasm-dl's module.
    pub dl_imports: Vec<String>,
}

/// Validates `input` and reads it as a main module; the error is the one `compose` gives.
pub fn main_module(input: &Input) -> Result<MainSummary> {
    if synth::root::is_pic_main(&input.bytes) {
        let main = parse::pic_main(input)?;
        let dl_imports = main
            .imports
            .into_iter()
            .filter(|i| i.module == DL_MODULE)
            .map(|i| i.field)
            .collect();
        return Ok(MainSummary {
            position_independent: true,
            needed: main.needed,
            dl_imports,
        });
    }
    let main = parse::main_module(input)?;
    Ok(MainSummary {
        position_independent: false,
        needed: main.needed,
        dl_imports: main.dl_imports,
    })
}
