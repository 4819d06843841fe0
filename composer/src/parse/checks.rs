//! Checks on a shared library's linker-defined imports and entry points: what `wasm-ld -shared`
//! always declares one way. Anything else would reach the output as a type mismatch between
//! modules, reported as an internal error; here it names the library, the item and the fix.

use anyhow::{bail, Result};
use wasmparser::{FuncType, Import, RefType, TypeRef, ValType};

const RELINK: &str = "relink it with `wasm-ld -shared`";

/// Checks one import of library `name` (`seen` holds the imports before it).
pub fn import(
    name: &str,
    imp: &Import<'_>,
    seen: &mut hashbrown::HashSet<(String, String)>,
) -> Result<()> {
    let what = format!("{name}: import `{}.{}`", imp.module, imp.name);
    if !seen.insert((imp.module.to_string(), imp.name.to_string())) {
        bail!("{what} appears twice; a module `wasm-ld` writes imports each item once: {RELINK}");
    }
    let global = |ty: &TypeRef, mutable: Option<bool>, want: &str| -> Result<()> {
        let ok = matches!(ty, TypeRef::Global(g)
            if g.content_type == ValType::I32 && !g.shared
                && mutable.is_none_or(|m| g.mutable == m));
        if !ok {
            bail!("{what} must be {want}, as wasm-ld declares it: {RELINK}");
        }
        Ok(())
    };
    match (imp.module, imp.name) {
        ("env", "memory") => match imp.ty {
            TypeRef::Memory(m) if m.memory64 => {
                bail!("{what} is a 64-bit memory; main's memory is 32-bit: build it for wasm32")
            }
            TypeRef::Memory(_) => {}
            _ => bail!("{what} must be a memory (main's): {RELINK}"),
        },
        ("env", "__indirect_function_table") => match imp.ty {
            TypeRef::Table(t) if t.table64 || t.element_type != RefType::FUNCREF => {
                bail!("{what} must be a 32-bit `funcref` table (main's function table): {RELINK}")
            }
            TypeRef::Table(_) => {}
            _ => bail!("{what} must be a table (main's function table): {RELINK}"),
        },
        ("env", "__stack_pointer") => global(&imp.ty, Some(true), "a `(global (mut i32))`")?,
        ("env", "__memory_base" | "__table_base") => global(&imp.ty, None, "a `(global i32)`")?,
        ("GOT.mem" | "GOT.func", _) => global(&imp.ty, Some(true), "a `(global (mut i32))`")?,
        _ => {}
    }
    Ok(())
}

/// Checks that an exported linker entry point (constructors, destructors, relocations) takes
/// and returns nothing, as the loader calls it.
pub fn entry_point(name: &str, export: &str, ty: &FuncType) -> Result<()> {
    if !ty.params().is_empty() || !ty.results().is_empty() {
        bail!(
            "{name}: exports `{export}` with type {}, but the loader calls it as \
             `(func)` (no parameters, no results), as wasm-ld defines it: {RELINK} and do not \
             define `{export}` yourself",
            crate::resolve::sig(ty)
        );
    }
    Ok(())
}
