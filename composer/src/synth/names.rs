//! How each import of a rewritten library is named in the component: the instance that
//! provides it is passed whole as the import's module (see [`import_names`]). Pass 4 renames
//! the libraries' imports so; pass 5 instantiates them with those instances.

use super::{atexit, env, main_module};
use crate::layout::{self, Layout};
use crate::parse::Library;
use crate::resolve::{Binding, FuncSource, Resolution, TagSource};
use anyhow::{anyhow, Result};

/// Import module name of main's instance (see [`import_names`]).
pub const MAIN: &str = "main";
/// Import module name of the env module's instance.
pub const ENV: &str = "env";

/// The (module, field) each import of library `lib` is renamed to: the instance that provides
/// it is passed whole as that module, so no alias or export-list instance is needed.
///
/// | binding | renamed to |
/// |---|---|
/// | memory, table, stack pointer, main function | `main.<main's export name>` |
/// | base globals, GOT entries, trampolines, stubs | `env.<env module export>` |
/// | function of library m (an earlier group, or its own merged group) | `grp<g>.<m>:<its export name>` |
pub fn import_names(
    lib: crate::resolve::LibId,
    libs: &[Library<'_>],
    res: &Resolution,
    layout: &Layout,
) -> Result<Vec<(String, String)>> {
    let j = lib.index();
    let mut names = Vec::with_capacity(res.bindings[j].len());
    for (i, b) in res.bindings[j].iter().enumerate() {
        let name = match b {
            Binding::Memory => (MAIN.to_string(), "memory".to_string()),
            Binding::Table => (MAIN.to_string(), main_module::TABLE_EXPORT.to_string()),
            Binding::StackPointer => (MAIN.to_string(), "__stack_pointer".to_string()),
            Binding::Tag(TagSource::Main(t)) => (MAIN.to_string(), main_module::tag_export(t)),
            Binding::Tag(TagSource::Lib(m, k)) => {
                let tag = libs[m.index()]
                    .tags
                    .get(k.index())
                    .ok_or_else(|| anyhow!("internal error: tag {} out of range", k.0))?;
                (
                    layout::group_module(layout.group_of[m.index()]),
                    layout::export_name(*m, &tag.0),
                )
            }
            Binding::OwnStack => (ENV.to_string(), env::stack_pointer(lib.0)),
            Binding::MemoryBase => (ENV.to_string(), env::memory_base(lib.0)),
            Binding::TableBase => (ENV.to_string(), env::table_base(lib.0)),
            Binding::Got(g) => (ENV.to_string(), env::got(*g)),
            Binding::Func(src) => match (layout.trampolines.get(&(lib, i)), src) {
                (Some(g), _) => (ENV.to_string(), env::trampoline(*g)),
                (None, FuncSource::Main(name)) if name == atexit::SYMBOL => {
                    (atexit::MODULE.to_string(), atexit::register(lib.0))
                }
                (None, FuncSource::Main(name)) => (MAIN.to_string(), name.clone()),
                (None, src) if src.is_dlsym() => (ENV.to_string(), env::dlsym_from(lib.0)),
                (None, src) if src.is_dlopen() => (ENV.to_string(), env::dlopen_from(lib.0)),
                (None, FuncSource::Reexport(h)) => (
                    MAIN.to_string(),
                    main_module::reexport_name(&h.module, &h.field),
                ),
                (None, FuncSource::Lib(m, k)) => (
                    layout::group_module(layout.group_of[m.index()]),
                    layout::export_name(*m, &libs[m.index()].funcs[k.index()].0),
                ),
                (None, FuncSource::Trap) => {
                    let n = layout
                        .stub_of
                        .get(&(lib, i))
                        .ok_or_else(|| anyhow!("internal error: missing trap stub"))?;
                    (ENV.to_string(), env::stub(*n))
                }
            },
        };
        names.push(name);
    }
    Ok(names)
}
