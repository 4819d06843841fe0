//! How each import of a rewritten library is named in the component: the instance that
//! provides it is passed whole as the import's module (see [`import_names`]). Pass 4 renames
//! the libraries' imports so; pass 5 instantiates them with those instances.

use super::{atexit, env, main_module};
use crate::layout::{self, GroupId, Layout};
use crate::parse::Library;
use crate::resolve::{Binding, FuncSource, Resolution, TagSource};
use anyhow::{anyhow, Result};
use std::borrow::Cow;

/// Import module name of main's instance (see [`import_names`]).
pub const MAIN: &str = "main";
/// Import module name of the env module's instance.
pub const ENV: &str = "env";

/// The instance of the component an import of a rewritten library is taken from: it is passed
/// whole as the import's module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Supplier {
    /// Main's instance ([`MAIN`]).
    Main,
    /// The env module's instance ([`ENV`]).
    Env,
    /// The destructor lists' instance (`atexit::MODULE`).
    Atexit,
    /// A group's module (an earlier group, or the importer's own when it is merged).
    Group(GroupId),
}

impl Supplier {
    /// The import module name the instance is passed as.
    pub fn module_name(self) -> Cow<'static, str> {
        match self {
            Supplier::Main => Cow::Borrowed(MAIN),
            Supplier::Env => Cow::Borrowed(ENV),
            Supplier::Atexit => Cow::Borrowed(atexit::MODULE),
            Supplier::Group(g) => Cow::Owned(g.module_name()),
        }
    }
}

/// What one import of a rewritten library is renamed to.
#[derive(Clone, Debug)]
pub struct ImportName {
    /// The instance that provides it.
    pub from: Supplier,
    /// Its export name in that instance.
    pub field: String,
}

impl ImportName {
    fn new(from: Supplier, field: impl Into<String>) -> Self {
        ImportName {
            from,
            field: field.into(),
        }
    }
}

/// The name each import of library `lib` is renamed to: the instance that provides
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
) -> Result<Vec<ImportName>> {
    let j = lib.index();
    let mut names = Vec::with_capacity(res.bindings[j].len());
    for (i, b) in res.bindings[j].iter().enumerate() {
        let at = crate::resolve::LibImport {
            lib,
            index: i as u32,
        };
        let name = match b {
            Binding::Memory => ImportName::new(Supplier::Main, "memory"),
            Binding::Table => ImportName::new(Supplier::Main, main_module::TABLE_EXPORT),
            Binding::StackPointer => ImportName::new(Supplier::Main, "__stack_pointer"),
            Binding::Tag(TagSource::Main(t)) => {
                ImportName::new(Supplier::Main, main_module::tag_export(t))
            }
            Binding::Tag(TagSource::Lib(m, k)) => {
                let tag = libs[m.index()]
                    .tags
                    .get(k.index())
                    .ok_or_else(|| anyhow!("internal error: tag {} out of range", k.0))?;
                ImportName::new(
                    Supplier::Group(layout.group_of[m.index()]),
                    layout::export_name(*m, &tag.0),
                )
            }
            Binding::OwnStack => ImportName::new(Supplier::Env, env::stack_pointer(lib.0)),
            Binding::MemoryBase => ImportName::new(Supplier::Env, env::memory_base(lib.0)),
            Binding::TableBase => ImportName::new(Supplier::Env, env::table_base(lib.0)),
            Binding::Got(g) => ImportName::new(Supplier::Env, env::got(*g)),
            Binding::Func(src) => match (layout.trampolines.get(&at), src) {
                (Some(g), _) => ImportName::new(Supplier::Env, env::trampoline(*g)),
                (None, FuncSource::Main(name)) if name == atexit::SYMBOL => {
                    ImportName::new(Supplier::Atexit, atexit::register(lib.0))
                }
                (None, FuncSource::Main(name)) => ImportName::new(Supplier::Main, name.clone()),
                (None, src) if src.is_dlsym() => {
                    ImportName::new(Supplier::Env, env::dlsym_from(lib.0))
                }
                (None, src) if src.is_dlopen() => {
                    ImportName::new(Supplier::Env, env::dlopen_from(lib.0))
                }
                (None, FuncSource::Reexport(h)) => ImportName::new(
                    Supplier::Main,
                    main_module::reexport_name_of(&res.reexports, &h.module, &h.field)?,
                ),
                (None, FuncSource::Lib(m, k)) => ImportName::new(
                    Supplier::Group(layout.group_of[m.index()]),
                    layout::export_name(*m, &libs[m.index()].funcs[k.index()].0),
                ),
                (None, FuncSource::Trap) => {
                    let n = layout
                        .stub_of
                        .get(&at)
                        .ok_or_else(|| anyhow!("internal error: missing trap stub"))?;
                    ImportName::new(Supplier::Env, env::stub(*n))
                }
            },
        };
        names.push(name);
    }
    Ok(names)
}
