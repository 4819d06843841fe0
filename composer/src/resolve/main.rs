//! Pass 2 for the main module's own imports: functions it calls in libraries it was linked
//! against (or left undefined with `--allow-undefined`), bound as a dynamic linker binds an
//! executable's PLT: main's NEEDED closure first, then every library in load order.

use super::scope::Scope;
use super::{
    find_needed, search, sig, Def, FuncSource, GotTarget, HostImport, LibId, Needed, Resolution,
};
use crate::parse::{Library, MainModule};
use hashbrown::HashMap;

/// Binds the functions main imports to library definitions in `scope`'s order (main's NEEDED
/// closure, breadth first, then load order); records the start-up libraries.
pub(super) fn resolve_main_imports(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    defs: &HashMap<&str, Vec<Def>>,
    scope: &Scope<'_>,
    res: &mut Resolution,
    errors: &mut Vec<String>,
    missing: &mut Vec<String>,
) {
    let names = search::Names::new(libs);
    let dirs = search::runpath_dirs(&main.runpath, &search::main_path(main));
    for name in &main.needed {
        match find_needed(&names, &dirs, name, res) {
            Needed::Lib(id) => {
                if !res.startup.contains(&id) {
                    res.startup.push(id);
                }
            }
            Needed::System => {}
            Needed::Missing => errors.push(format!(
                "{}: needs `{name}` (dylink.0 NEEDED: it was linked against it), which was not \
                 given; add it to the `wasm-dl compose` command line",
                main.name
            )),
            Needed::Ambiguous => errors.push(search::ambiguous(&main.name, name, libs, &names)),
        }
    }
    let linked: Vec<LibId> = main
        .needed
        .iter()
        .filter_map(|n| names.find(n, &dirs).lib().map(LibId))
        .collect();
    warn_non_pic_main(main, libs, &linked, res);
    // The definition main binds `name` to: the best of `defs` of the wanted kind.
    let best = |name: &str, func: bool| -> Option<Def> {
        defs.get(name).and_then(|list| scope.best(list, Some(func)))
    };
    for got in &main.got_imports {
        let target = match best(&got.name, got.func) {
            Some(Def::Func(l, k)) => Some((l, GotTarget::LibFunc(l, k))),
            Some(Def::Data(l, off)) => Some((l, GotTarget::LibData(l, off))),
            // Tags live in a lookup of their own (`tags`).
            Some(Def::Tag(..)) | None if got.weak => None,
            Some(Def::Tag(..)) | None => {
                missing.push(format!(
                    "{}: undefined {} `{}` (imported from `{}`): no library given defines it",
                    main.name,
                    if got.func { "function" } else { "data symbol" },
                    got.name,
                    if got.func { "GOT.func" } else { "GOT.mem" },
                ));
                None
            }
        };
        if let Some((l, _)) = &target {
            if !res.startup.contains(l) {
                res.startup.push(*l);
            }
        }
        res.main_gots
            .push(target.map_or(GotTarget::Null, |(_, t)| t));
    }
    for imp in &main.lib_imports {
        let name = imp.name.as_str();
        let def = best(name, true);
        let src = match def {
            Some(Def::Func(l, k)) => {
                let found = &libs[l.index()].funcs[k.index()].1;
                if *found != imp.ty {
                    errors.push(format!(
                        "{}: import `env.{name}`: type mismatch: imported as {} but {} defines \
                         it as {}",
                        main.name,
                        sig(&imp.ty),
                        libs[l.index()].name,
                        sig(found)
                    ));
                }
                if !res.startup.contains(&l) {
                    res.startup.push(l);
                }
                FuncSource::Lib(l, k)
            }
            // Declared without dlfcn.h's import module: still the dl shim's.
            _ if crate::dlfcn::func_type(name).as_ref() == Some(&imp.ty) => {
                FuncSource::Reexport(HostImport::new(crate::DL_MODULE, name, &imp.ty))
            }
            _ if imp.weak => FuncSource::Trap,
            _ => {
                let what = if defs.contains_key(name) {
                    "is data in every library that defines it, but main calls it"
                } else {
                    "no library given defines it; add the library to the `wasm-dl compose` \
                     command line"
                };
                missing.push(format!(
                    "{}: undefined function `{name}` (imported from `env`): {what}",
                    main.name
                ));
                FuncSource::Trap
            }
        };
        res.main_imports.push(src);
    }
}

/// wasm-ld 19 links a non-PIC main's references to a shared library's data (`&library_var`), and
/// the addresses it takes of library functions, as 0, without a diagnostic, and leaves no trace of
/// them in the output. What can be seen: main was linked against libraries that export data, and
/// main was not compiled `-fPIC` (it has no `GOT.*` imports). Say so, with the fix.
fn warn_non_pic_main(
    main: &MainModule<'_>,
    libs: &[Library<'_>],
    linked: &[LibId],
    res: &mut Resolution,
) {
    if main.synthesized || !main.got_imports.is_empty() {
        return;
    }
    for id in &res.startup {
        let Some(lib) = libs.get(id.index()) else {
            continue;
        };
        if !linked.contains(id) || lib.data.is_empty() {
            continue;
        }
        let mut names: Vec<&str> = lib.data.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let shown = names
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join("`, `");
        let more = if names.len() > 3 { ", ..." } else { "" };
        res.warnings.push(format!(
            "{}: linked without -fPIC against {}, which exports data (`{shown}`{more}): wasm-ld \
             links a non-PIC main's references to library data, and the addresses it takes of \
             library functions, as 0 without a diagnostic; if main uses any, compile it with \
             `-fPIC` (it stays an ordinary executable)",
            main.name, lib.name
        ));
    }
}
