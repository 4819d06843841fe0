//! The link map (`wasm-dl compose --map FILE`), modelled on lld's `-Map`: for each library what
//! it asks for, what it loads first, and where every import was bound.

use crate::layout::Layout;
use crate::parse::{Library, MainModule};
use crate::resolve::{Binding, FuncSource, GotTarget, LibId, LibImport, Resolution, TagSource};
use crate::synth::ftalloc::TableAllocator;
use std::fmt::Write as _;

/// Dependency-first load order starting at `root` (what the provider computes at `dlopen`).
fn load_order(res: &Resolution, root: LibId) -> Vec<LibId> {
    let deps: Vec<Vec<u32>> = res
        .deps
        .iter()
        .map(|d| d.iter().map(|l| l.index() as u32).collect())
        .collect();
    let n = deps.len();
    wasm_dl_abi::order::load_order(root.index() as u32, n, |l| &deps[l as usize], |_| false)
        .into_iter()
        .map(LibId)
        .collect()
}

/// Renders the map.
pub fn render(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    res: &Resolution,
    layout: &Layout,
    table_alloc: Option<TableAllocator>,
    relocs_applied: &[bool],
) -> String {
    let mut out = String::new();
    let names = crate::resolve::search::Names::new(libs);
    let name = |l: &LibId| libs[l.index()].name.as_str();
    let _ = writeln!(out, "# wasm-dl link map");
    let _ = writeln!(out, "main {}", main.name);
    if !libs.is_empty() {
        let _ = writeln!(
            out,
            "  table slots for libraries from: {}",
            crate::synth::ftalloc::describe(table_alloc)
        );
    }
    let _ = writeln!(
        out,
        "  instantiation order of libraries: {}",
        layout.order.iter().map(name).collect::<Vec<_>>().join(", ")
    );
    if !res.system.is_empty() {
        let _ = writeln!(
            out,
            "  system libraries provided by wasm-dl (no file; their functions are in libc and \
             wasm-dl's dl*): {}",
            res.system.join(", ")
        );
    }
    if !res.startup.is_empty() {
        let _ = writeln!(
            out,
            "  loaded before _start (linked against): {}",
            res.startup.iter().map(name).collect::<Vec<_>>().join(", ")
        );
    }
    if !main.lib_imports.is_empty() {
        let _ = writeln!(out, "  imports from libraries (PLT entries):");
        for (imp, src) in main.lib_imports.iter().zip(&res.main_imports) {
            let from = match src {
                FuncSource::Lib(l, k) => format!("{} function slot {}", name(l), k.0),
                FuncSource::Reexport(h) => format!("host import `{}.{}`", h.module, h.field),
                _ => "undefined: calling it traps".to_string(),
            };
            let _ = writeln!(out, "    {:<40} <- {from}", format!("env.{}", imp.name));
        }
    }
    if !main.got_imports.is_empty() {
        let _ = writeln!(out, "  GOT imports (set when the library is placed):");
        for (g, t) in main.got_imports.iter().zip(&res.main_gots) {
            let from = match t {
                GotTarget::LibData(l, off) => format!("{} + 0x{:x}", name(l), off.0),
                GotTarget::LibFunc(l, k) => format!("{} function slot {}", name(l), k.0),
                _ => "undefined (weak): 0".to_string(),
            };
            let module = if g.func { "GOT.func" } else { "GOT.mem" };
            let _ = writeln!(out, "    {:<40} <- {from}", format!("{module}.{}", g.name));
        }
    }
    for (i, lib) in libs.iter().enumerate() {
        let id = LibId(i as u32);
        let _ = writeln!(out, "\nlibrary {} (id {i})", lib.name);
        let _ = writeln!(
            out,
            "  memory: {} bytes, align 2^{}; table: {} slots + {} function slots, align 2^{}",
            lib.mem_size,
            lib.mem_align,
            lib.table_size,
            lib.funcs.len(),
            lib.table_align
        );
        if let Some(base) = layout.prelink.memory_base.get(i).copied().flatten() {
            let _ = writeln!(
                out,
                "  prelinked: memory base 0x{base:x} (fixed at compose time; its data in the \
                 memory's initial image)"
            );
        }
        if let Some(base) = layout.prelink.table_base.get(i).copied().flatten() {
            let base = base.0;
            let _ = writeln!(
                out,
                "  prelinked: table base {base} (fixed at compose time, inside main's initial \
                 table)"
            );
        }
        if relocs_applied.get(i).copied().unwrap_or(false) {
            let _ = writeln!(
                out,
                "  prelinked: data relocations applied at compose time (`__wasm_apply_data_relocs` \
                 not run, its body emptied)"
            );
        }
        crate::resolve::search::render_paths(&mut out, lib, libs, &names, res);
        let _ = writeln!(
            out,
            "  dlopen loads and initialises: {}",
            load_order(res, id)
                .iter()
                .map(name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "  imports:");
        for (k, (imp, b)) in lib.imports.iter().zip(&res.bindings[i]).enumerate() {
            let from = match b {
                Binding::Memory => format!("{} memory", main.name),
                Binding::Table => format!("{} table", main.name),
                Binding::StackPointer => format!("{} __stack_pointer", main.name),
                Binding::OwnStack => format!(
                    "its own {} KiB stack ({} exports no __stack_pointer)",
                    crate::resolve::OWN_STACK_SIZE / 1024,
                    main.name
                ),
                Binding::MemoryBase => "this library's memory base (set at load)".to_string(),
                Binding::TableBase => "this library's table base (set at load)".to_string(),
                Binding::Func(FuncSource::Main(_)) => main.name.clone(),
                Binding::Tag(TagSource::Main(t)) => {
                    if res.main_tags.iter().any(|(n, _)| n == t) {
                        format!("{} (tag `{t}` wasm-dl defines there)", main.name)
                    } else {
                        main.name.clone()
                    }
                }
                Binding::Tag(TagSource::Lib(l, _)) => name(l).to_string(),
                Binding::Func(FuncSource::Reexport(h)) => {
                    format!("{} re-exporting `{}.{}`", main.name, h.module, h.field)
                }
                Binding::Func(FuncSource::Lib(l, _)) => {
                    let at = LibImport {
                        lib: id,
                        index: k as u32,
                    };
                    if layout.trampolines.contains_key(&at) && *l == id {
                        format!("{} (through a trampoline: its own export)", name(l))
                    } else if layout.trampolines.contains_key(&at) {
                        format!("{} (through a trampoline: instantiated later)", name(l))
                    } else {
                        name(l).to_string()
                    }
                }
                Binding::Func(FuncSource::Trap) => "undefined: stub that traps".to_string(),
                Binding::Got(g) => match &res.gots[g.0 as usize] {
                    GotTarget::Null => "undefined (weak): 0".to_string(),
                    GotTarget::Abs(v) => format!("{} (0x{v:x})", main.name),
                    GotTarget::LibData(l, off) => format!("{} + 0x{:x}", name(l), off.0),
                    GotTarget::LibFunc(l, k) => format!("{} function slot {}", name(l), k.0),
                },
            };
            let _ = writeln!(
                out,
                "    {:<40} <- {from}",
                format!("{}.{}", imp.module, imp.field)
            );
        }
    }
    if !res.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings:");
        for w in &res.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}
