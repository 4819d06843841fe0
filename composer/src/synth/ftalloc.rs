//! The main module's table allocator (`include/wasm-dl/ftalloc.h`, contract in
//! [`wasm_dl_abi::ftalloc`]): whether main has one, and the code that asks it for slots.
//!
//! Without `ftalloc` wasm-dl takes table ranges with `table.grow`, as the seed's fallback says;
//! with it, the loader (a library's slots at placement) and the destructor-list module (its
//! drain function's slot) call `ftalloc` instead, and the loader gives ranges back with `ftfree`
//! when `dlclose` unloads a library or a `dlopen` fails part-way.

use crate::parse::MainModule;
use anyhow::{bail, Result};
use wasm_dl_abi::ftalloc::{FTALLOC_EXPORT, FTALLOC_FAILED, FTFREE_EXPORT};
use wasm_encoder::{BlockType, InstructionSink};
use wasmparser::{FuncType, ValType};

/// Main's table allocator, when it exports one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableAllocator {
    /// Main exports `ftfree` too: ranges are given back.
    pub free: bool,
}

/// The C signature, for messages.
const SIGNATURES: &str = "`size_t ftalloc(size_t count, size_t align)` and \
     `void ftfree(size_t first, size_t count)` (include/wasm-dl/ftalloc.h)";

/// Main's table allocator: `Some` when main exports `ftalloc` (of the right type). An all-PIC
/// set's synthesized root has none: its table is the root's own.
pub fn of(main: &MainModule<'_>) -> Result<Option<TableAllocator>> {
    let i32s = |n: usize| vec![ValType::I32; n];
    let check = |name: &str, want: FuncType| -> Result<bool> {
        match main.funcs.get(name) {
            None => Ok(false),
            Some((_, ty)) if *ty == want => Ok(true),
            Some((_, ty)) => bail!(
                "{}: exports `{name}` with type {ty}, but wasm-dl calls a main module's `{name}` \
                 as its function-table allocator: {SIGNATURES}; rename the function, or give it \
                 that signature",
                main.name
            ),
        }
    };
    let alloc = check(FTALLOC_EXPORT, FuncType::new(i32s(2), i32s(1)))?;
    let free = check(FTFREE_EXPORT, FuncType::new(i32s(2), []))?;
    if free && !alloc {
        bail!(
            "{}: exports `{FTFREE_EXPORT}` but not `{FTALLOC_EXPORT}`: wasm-dl gives back only \
             table slots that `{FTALLOC_EXPORT}` handed out; define and export both ({SIGNATURES}: \
             link with `-Wl,--export-if-defined={FTALLOC_EXPORT}`), or neither",
            main.name
        );
    }
    Ok(alloc.then_some(TableAllocator { free }))
}

/// What the link map says about who serves the table.
pub fn describe(alloc: Option<TableAllocator>) -> &'static str {
    match alloc {
        None => "table.grow of main's table (main exports no `ftalloc`)",
        Some(TableAllocator { free: true }) => {
            "main's `ftalloc`; `dlclose` gives a library's slots back with main's `ftfree`"
        }
        Some(TableAllocator { free: false }) => {
            "main's `ftalloc` (no `ftfree`: a closed library keeps its slots for its next `dlopen`)"
        }
    }
}

/// Emits `local[first] = ftalloc(count, align)` for table 0, returning `failed` from the
/// function when `ftalloc` fails and `bad` when its answer is no range wasm-dl may use (0, not
/// a multiple of `align`, or past the table's size), then sets the range's slots to NULL (main
/// may have used them before). `count` > 0; `align` a power of two.
pub fn emit_alloc(
    ins: &mut InstructionSink<'_>,
    ftalloc: u32,
    count: u32,
    align: u32,
    first: u32,
    failed: i32,
    bad: i32,
) {
    ins.i32_const(count as i32)
        .i32_const(align as i32)
        .call(ftalloc)
        .local_tee(first)
        .i32_const(FTALLOC_FAILED as i32)
        .i32_eq()
        .if_(BlockType::Empty)
        .i32_const(failed)
        .return_()
        .end();
    // first == 0 | first & (align - 1) | count > size | first > size - count (unsigned; the
    // subtraction wraps only when count > size, which is already a failure).
    ins.local_get(first)
        .i32_eqz()
        .local_get(first)
        .i32_const(align.wrapping_sub(1) as i32)
        .i32_and()
        .i32_const(0)
        .i32_ne()
        .i32_or()
        .i32_const(count as i32)
        .table_size(0)
        .i32_gt_u()
        .i32_or()
        .local_get(first)
        .table_size(0)
        .i32_const(count as i32)
        .i32_sub()
        .i32_gt_u()
        .i32_or()
        .if_(BlockType::Empty)
        .i32_const(bad)
        .return_()
        .end()
        .local_get(first)
        .ref_null(wasm_encoder::HeapType::FUNC)
        .i32_const(count as i32)
        .table_fill(0);
}

/// The warning for an all-PIC set whose `-shared` main exports `ftalloc`: the root module
/// wasm-dl synthesizes owns the table and grows it, so the PIC main's allocator is not asked.
pub fn ignored_in_pic_main(
    main: &MainModule<'_>,
    libs: &[crate::parse::Library<'_>],
) -> Option<String> {
    let pic_main = libs.first().filter(|_| main.synthesized)?;
    pic_main
        .funcs
        .iter()
        .any(|(n, _)| n == FTALLOC_EXPORT)
        .then(|| {
            format!(
                "{}: exports `{FTALLOC_EXPORT}`, which is not used: in an all-PIC set (a \
                 `-shared` main) the table belongs to the root module wasm-dl synthesizes, and \
                 library slots are taken with table.grow",
                pic_main.name
            )
        })
}
