//! The library index of one composition (the format: [`wasm_dl_abi::index`]), built from the
//! resolution. The provider (`provider/src/index.rs`) is the only reader. The composer places the encoded
//! index in the provider's own linear memory (see `provider.rs`), so it is read in place.

use crate::parse::{Library, MainModule};
use crate::resolve::Resolution;
pub use wasm_dl_abi::index::{encode, LibEntry, Symbol, KIND_DATA, KIND_FUNC};

/// The index of a composition: every library's names (its name, basename and `aliases[j]`),
/// sizes, dependencies and symbols, and the symbols of main that `dlsym` finds. Decided by
/// the resolution and `tables` (per library, whether the shim's symbol tables hold its
/// symbols, `synth::symtab::tables`: then they are left out here, so that every name is
/// stored once in the output).
pub fn build(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    aliases: &[Vec<&str>],
    res: &Resolution,
    tables: &[bool],
) -> Vec<u8> {
    let entries: Vec<LibEntry<'_>> = libs
        .iter()
        .enumerate()
        .map(|(i, lib)| {
            let syms = lib_symbols(lib);
            LibEntry {
                name: &lib.name_bytes,
                path: &lib.path,
                aliases: aliases
                    .get(i)
                    .into_iter()
                    .flatten()
                    .map(|a| alias_name(a))
                    .collect(),
                runpath: crate::resolve::search::runpath_dirs(&lib.runpath, &lib.path),
                table_size: lib.table_size,
                mem_size: lib.mem_size,
                deps: res.deps[i].iter().map(|d| d.0).collect(),
                syms,
                in_shim: tables.get(i).copied().unwrap_or(false),
            }
        })
        .collect();
    let mut main_syms: Vec<Symbol<'_>> = main
        .data
        .iter()
        .map(|(name, v)| Symbol {
            name: name.as_bytes(),
            kind: KIND_DATA,
            value: *v,
        })
        .collect();
    main_syms.extend(res.main_func_slots.iter().map(|(name, slot)| Symbol {
        name: name.as_bytes(),
        kind: KIND_FUNC,
        value: *slot,
    }));
    // Functions main imports and takes the address of: their PLT entry is their address.
    main_syms.extend(main.lib_imports.iter().filter_map(|imp| {
        Some(Symbol {
            name: imp.name.as_bytes(),
            kind: KIND_FUNC,
            value: main.canonical_plt_slot(&imp.name)?,
        })
    }));
    main_syms.sort_by(|a, b| a.name.cmp(b.name));
    let startup: Vec<u32> = res.startup.iter().map(|l| l.0).collect();
    let main_runpath = crate::resolve::search::runpath_dirs(
        &main.runpath,
        &crate::resolve::search::main_path(main),
    );
    encode(&entries, &main_runpath, &main_syms, &startup)
}

/// A library's exported symbols as the index holds them (function values: the position among
/// its exported functions; data: the offset from its memory base), in the index's order.
fn lib_symbols<'a>(lib: &'a Library<'_>) -> Vec<Symbol<'a>> {
    let mut syms: Vec<Symbol<'_>> = lib
        .funcs
        .iter()
        .enumerate()
        .map(|(k, (name, _))| Symbol {
            name: name.as_bytes(),
            kind: KIND_FUNC,
            value: k as u32,
        })
        .collect();
    syms.extend(lib.data.iter().map(|(name, off)| Symbol {
        name: name.as_bytes(),
        kind: KIND_DATA,
        value: *off,
    }));
    syms
}

/// Per library, the symbols of the shim's table (`wasm_dl_abi::symtab`): the index's, in its
/// order, with function values relative to the library's table base (its own slots come
/// first: `layout::LibSlot::func`).
pub fn shim_tables<'a>(libs: &'a [Library<'_>]) -> Vec<Vec<wasm_dl_abi::symtab::Entry<'a>>> {
    libs.iter()
        .map(|lib| {
            lib_symbols(lib)
                .into_iter()
                .map(|s| wasm_dl_abi::symtab::Entry {
                    name: s.name,
                    kind: s.kind,
                    value: match s.kind {
                        KIND_FUNC => {
                            crate::layout::LibSlot::func(lib, crate::resolve::FuncSym(s.value)).0
                        }
                        _ => s.value,
                    },
                })
                .collect()
        })
        .collect()
}

/// An alias as the index holds it: one containing `/` is a guest path, normalized as the
/// provider normalizes `dlopen` paths (see [`wasm_dl_abi::path`]).
fn alias_name(alias: &str) -> Vec<u8> {
    match alias.contains('/') {
        true => wasm_dl_abi::path::normalize(alias.as_bytes()),
        false => None,
    }
    .unwrap_or_else(|| alias.as_bytes().to_vec())
}
