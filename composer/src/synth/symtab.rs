//! The shim's symbol tables (format and reasons: [`wasm_dl_abi::symtab`]), placed in the
//! memory main defines: right above its initial memory and the prelinked libraries' region
//! (`layout::Prelink`), which main's initial size grows to hold. As for that region, nothing
//! else hands these pages out (main's `malloc` takes the memory up to the *linked* initial size,
//! then what `memory.grow` returns), and the region is an active data segment at a constant
//! offset, so wasmtime maps it copy-on-write from the compiled image: a `dlsym` reads in only
//! the pages it touches, and nothing is copied at start-up.

use crate::parse::{Library, MainModule};
use anyhow::Result;

/// Where the tables went: the region's address (the shim's `symtab` state starts at it) and
/// the least initial size of main's memory in pages.
pub struct Placed {
    /// The region's address in main's memory.
    pub address: u32,
    /// Main's memory must start with at least this many pages.
    pub memory_pages: u64,
}

/// The most memory the tables may take (beyond it, the provider answers every lookup).
const LIMIT: u64 = 1 << 30;

/// Encodes the tables of `libs` for main's memory above `prelinked_pages` (the prelinked
/// region's end, if any), with `lazy[i]` library i's lazy flag, and adds them to `data` (active
/// segments: address, bytes). `None` (nothing added) when main does not define a plain 32-bit
/// memory, or the region does not fit its maximum size. The libraries that got a table are the
/// ones whose symbols the provider's index leaves out ([`tables`] says which).
pub fn place(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    prelinked_pages: Option<u64>,
    lazy: &[bool],
    data: &mut Vec<(u32, Vec<u8>)>,
) -> Result<Option<(Placed, Vec<bool>)>> {
    let Some((address, pages, region)) = region(main, libs, prelinked_pages, lazy)? else {
        return Ok(None);
    };
    data.push((address, region.bytes));
    Ok(Some((
        Placed {
            address,
            memory_pages: pages,
        },
        region.tables,
    )))
}

/// Per library, whether [`place`] gives it a table (all `false` when it places none): what
/// the provider's index needs to know (`index::build`) where the index is built without the
/// rest of pass 4 (a provider component of its own).
pub fn tables(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    prelinked_pages: Option<u64>,
) -> Result<Vec<bool>> {
    Ok(match region(main, libs, prelinked_pages, &[])? {
        Some((_, _, region)) => region.tables,
        None => vec![false; libs.len()],
    })
}

/// The region's address, the pages main's memory must start with, and the region.
fn region(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    prelinked_pages: Option<u64>,
    lazy: &[bool],
) -> Result<Option<(u32, u64, wasm_dl_abi::symtab::Region)>> {
    if libs.is_empty() {
        return Ok(None);
    }
    let Some((initial, maximum)) = super::main_module::memory_limits(main.bytes)? else {
        return Ok(None);
    };
    let start_pages = prelinked_pages.unwrap_or(0).max(initial);
    let start = start_pages.saturating_mul(1 << 16);
    let Ok(address) = u32::try_from(start) else {
        return Ok(None);
    };
    let region = wasm_dl_abi::symtab::encode(address, &crate::index::shim_tables(libs), lazy);
    let len = region.bytes.len() as u64;
    let end = start.saturating_add(len);
    let pages = end.div_ceil(1 << 16);
    if len > LIMIT || pages > 1 << 16 || maximum.is_some_and(|max| pages > max) {
        return Ok(None);
    }
    Ok(Some((address, pages, region)))
}
