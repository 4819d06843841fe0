//! [`Linker`]: the builder of `wit_component::Linker` (what `wasm-tools component link` and
//! componentize-py are built on), answered by wasm-dl's [`Composer`], so that a Rust tool written
//! against the peer's API switches by changing one `use` line.
//!
//! The peer's model is all-PIC: every module is a library, one of them (the program's, linked
//! with wasi-libc's `crt1-command.o`) has the entry point, and `libc.so` is a library too.
//! [`Linker::encode`] maps it onto a [`Composer`]:
//!
//! - the **main module** is the one library not given `dl_openable` that exports `_start` or
//!   `wasi:cli/run@0.2.0#run` (or that is an ordinary, non-PIC module: wasm-dl also takes those);
//! - every other library (`libc.so` included) is a library of the composition, under the name
//!   given, in the order given, the `dl_openable` ones after the others. Each is found by
//!   `dlopen` by that name (or its basename), and the libraries the main module needs are
//!   loaded before it starts, as with the peer;
//! - wit-component's own `libdl.so` (it exports `__wasm_set_libraries`), which peer users pass
//!   without `use_built_in_libdl`, is left out: wasm-dl answers `dlopen` itself.
//!
//! Two things differ from the peer, both as glibc does them: a `dl_openable` library is placed
//! (and its constructors run) at its first `dlopen`, not at start-up; and a library given
//! without `dl_openable` can be `dlopen`ed too (the peer finds only `dl_openable` ones).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! // Was: use wit_component::Linker;
//! use wasm_dl::Linker;
//!
//! let mut linker = Linker::default();
//! linker
//!     .library("main.so", &std::fs::read("main.so")?, false)?
//!     .library("libc.so", &std::fs::read("libc.so")?, false)?
//!     .library("libplugin.so", &std::fs::read("libplugin.so")?, true)?;
//! linker.validate(true).use_built_in_libdl(true);
//! let component: Vec<u8> = linker.encode()?;
//! # drop(component);
//! # Ok(()) }
//! ```

use crate::{display_name, Composer};
use anyhow::{bail, Result};
use wasmparser::{ExternalKind, Parser, Payload};

/// Builder for composing dynamic library modules into a component, with the methods of
/// `wit_component::Linker` (plus [`Linker::adapter`] and [`Linker::validate`], which the peer
/// reaches through its `encoder()`). See the [module documentation](self) for how its model
/// maps onto wasm-dl's.
#[derive(Clone, Debug, Default)]
pub struct Linker {
    /// `(name, module, dl_openable)`, in the order given.
    libraries: Vec<(String, Vec<u8>, bool)>,
    adapters: Vec<(String, Vec<u8>)>,
    stub_missing_functions: bool,
    use_built_in_libdl: bool,
    stack_size: Option<u32>,
    /// `Some(false)` when the caller asked for no validation.
    validate: Option<bool>,
    /// [`Linker::gc`] (a wasm-dl extension).
    gc: bool,
}

/// What [`Linker::encode_report`] produced.
#[derive(Debug)]
pub struct Linked {
    /// The validated component.
    pub component: Vec<u8>,
    /// The composer's warnings (duplicate symbols, stubbed functions, ...).
    pub warnings: Vec<String>,
    /// Where wasm-dl did something other than the peer would (an option it need not honour, a
    /// library it left out), one line each.
    pub notes: Vec<String>,
}

/// The entry points that make a library the program's main module.
const ENTRIES: &[&str] = &["_start", crate::parse::RUN_EXPORT];

/// What wit-component's built-in `libdl.so` exports (wit-component calls it with the table of
/// `dlopen`able libraries); wasm-dl's own provider replaces that library.
const PEER_LIBDL_EXPORT: &str = "__wasm_set_libraries";

impl Linker {
    /// Adds a library. `name` is the name other libraries' NEEDED entries and `dlopen` find it
    /// by; `dl_openable` makes it a library the program opens with `dlopen` rather than one it
    /// is linked against (it is then placed at its first `dlopen`).
    pub fn library(&mut self, name: &str, module: &[u8], dl_openable: bool) -> Result<&mut Self> {
        self.libraries
            .push((name.to_owned(), module.to_vec(), dl_openable));
        Ok(self)
    }

    /// Uses `module` as the adapter for imports from core module `name` (as the peer's
    /// `encoder().adapter(name, module)`); see [`Composer::adapter`].
    pub fn adapter(&mut self, name: &str, module: &[u8]) -> Result<&mut Self> {
        self.adapters.push((name.to_owned(), module.to_vec()));
        Ok(self)
    }

    /// Whether to validate the output. wasm-dl validates every component it returns, so `false`
    /// changes nothing (and is reported in [`Linked::notes`]).
    pub fn validate(&mut self, validate: bool) -> &mut Self {
        self.validate = Some(validate);
        self
    }

    /// The size in bytes of the stack of the synthesized main module ([`Composer::stack_size`]).
    pub fn stack_size(&mut self, stack_size: u32) -> &mut Self {
        self.stack_size = Some(stack_size);
        self
    }

    /// Whether to bind functions no library defines to stubs that trap when called
    /// ([`Composer::stub_missing`]).
    pub fn stub_missing_functions(&mut self, stub_missing_functions: bool) -> &mut Self {
        self.stub_missing_functions = stub_missing_functions;
        self
    }

    /// Whether to remove what no program can reach ([`Composer::gc`]); the `dl_openable`
    /// libraries keep every export.
    pub fn gc(&mut self, gc: bool) -> &mut Self {
        self.gc = gc;
        self
    }

    /// The peer's switch for its built-in `dlopen`/`dlsym`. wasm-dl always provides them, so
    /// either value gives the same component.
    pub fn use_built_in_libdl(&mut self, use_built_in_libdl: bool) -> &mut Self {
        self.use_built_in_libdl = use_built_in_libdl;
        self
    }

    /// Composes the libraries into a component (validated).
    pub fn encode(self) -> Result<Vec<u8>> {
        Ok(self.encode_report()?.component)
    }

    /// [`Linker::encode`], with the warnings and the notes on what differs from the peer.
    pub fn encode_report(self) -> Result<Linked> {
        let (composer, mut notes) = self.composer()?;
        let composed = composer.compose_report()?;
        if self.validate == Some(false) {
            notes.push(
                "--validate=false (validate(false)): wasm-dl validates every component it \
                 emits; it is not turned off"
                    .to_string(),
            );
        }
        Ok(Linked {
            component: composed.component,
            warnings: composed.warnings,
            notes,
        })
    }

    /// The [`Composer`] this linker's inputs map to, and the notes on what was done
    /// differently from the peer (a library left out).
    pub fn composer(&self) -> Result<(Composer, Vec<String>)> {
        let mut notes = Vec::new();
        let mut libs: Vec<&(String, Vec<u8>, bool)> = Vec::with_capacity(self.libraries.len());
        for lib in &self.libraries {
            if exports_any(&lib.1, &[PEER_LIBDL_EXPORT]) {
                notes.push(format!(
                    "{}: left out: it is wit-component's libdl (it exports \
                     `{PEER_LIBDL_EXPORT}`), and wasm-dl provides dlopen and dlsym itself",
                    lib.0
                ));
            } else {
                libs.push(lib);
            }
        }
        let main = main_index(&libs)?;
        let (main_name, main_bytes, _) = libs[main];
        let mut composer = Composer::new().main(main_name.clone(), main_bytes.clone());
        // The libraries linked in first, in the order given, then the dl-openable ones: the
        // order in which the libraries' symbols are searched.
        let rest = libs.iter().enumerate().filter(|(i, _)| *i != main);
        let linked = rest.clone().filter(|(_, l)| !l.2);
        let openable = rest.filter(|(_, l)| l.2);
        let mut dl_openable = Vec::new();
        for (_, (name, bytes, openable)) in linked.chain(openable) {
            composer = composer.library(name.clone(), bytes.clone());
            if *openable {
                dl_openable.push(name.clone());
            }
        }
        // The peer's model: only these libraries are `dlopen`able (what `gc` keeps whole).
        composer = composer.dl_openable(dl_openable);
        for (name, bytes) in &self.adapters {
            composer = composer.adapter(name.clone(), bytes.clone());
        }
        if let Some(size) = self.stack_size {
            composer = composer.stack_size(size);
        }
        Ok((
            composer
                .stub_missing(self.stub_missing_functions)
                .gc(self.gc),
            notes,
        ))
    }
}

/// Which library is the main module: the one not `dl_openable` that is an ordinary (non-PIC)
/// module, else the one that exports an entry point.
fn main_index(libs: &[&(String, Vec<u8>, bool)]) -> Result<usize> {
    if libs.is_empty() {
        bail!("no modules given: give the program's main module and its libraries");
    }
    let candidates = |pred: &dyn Fn(&[u8]) -> bool| -> Vec<usize> {
        libs.iter()
            .enumerate()
            .filter(|(_, l)| !l.2 && pred(&l.1))
            .map(|(i, _)| i)
            .collect()
    };
    let mut found = candidates(&|b| !has_dylink(b));
    if found.is_empty() {
        found = candidates(&|b| exports_any(b, ENTRIES));
    }
    let names = |found: &[usize]| -> String {
        found
            .iter()
            .map(|&i| format!("`{}`", display_name(libs[i].0.as_bytes())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => bail!(
            "no main module: none of the modules given without --dl-openable exports `_start` or \
             `{}` ({}); give the program's own module, linked with wasi-libc's `crt1-command.o`",
            crate::parse::RUN_EXPORT,
            names(&(0..libs.len()).filter(|&i| !libs[i].2).collect::<Vec<_>>())
        ),
        many => bail!(
            "more than one main module: {} each are an executable or export `_start`; give only \
             the program's own one, or give the others with --dl-openable",
            names(many)
        ),
    }
}

/// Whether `bytes` carries a `dylink.0` section (is a library as wasm-ld `-shared` writes it).
/// Bytes that are no module count as a library: the composer then names the file and its fault.
fn has_dylink(bytes: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::CustomSection(c)) if c.name() == "dylink.0" => return true,
            Ok(Payload::CodeSectionStart { .. }) | Ok(Payload::End(_)) => return false,
            Err(_) => return true,
            _ => {}
        }
    }
    true
}

/// Whether module `bytes` exports a function named one of `names`.
fn exports_any(bytes: &[u8], names: &[&str]) -> bool {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::ExportSection(r)) => {
                return r.into_iter().any(|e| {
                    e.is_ok_and(|e| e.kind == ExternalKind::Func && names.contains(&e.name))
                })
            }
            Ok(Payload::CodeSectionStart { .. }) | Err(_) => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).expect("test module")
    }

    #[test]
    fn main_is_the_module_with_an_entry_point() {
        let lib = module("(module (@dylink.0) (func (export \"f\")))");
        let main = module("(module (@dylink.0) (func (export \"_start\")))");
        let a = ("libc.so".to_string(), lib.clone(), false);
        let b = ("main.so".to_string(), main, false);
        let c = ("libp.so".to_string(), lib, true);
        assert_eq!(main_index(&[&a, &b, &c]).unwrap(), 1);
        let err = main_index(&[&a, &c]).unwrap_err().to_string();
        assert!(
            err.contains("no main module") && err.contains("`libc.so`"),
            "{err}"
        );
    }

    #[test]
    fn a_non_pic_module_is_the_main_one() {
        let exe = module("(module (func (export \"_start\")))");
        let pic = module("(module (@dylink.0) (func (export \"_start\")))");
        let a = ("a.so".to_string(), pic, false);
        let b = ("main.wasm".to_string(), exe.clone(), false);
        assert_eq!(main_index(&[&a, &b]).unwrap(), 1);
        let c = ("other.wasm".to_string(), exe, false);
        let err = main_index(&[&a, &b, &c]).unwrap_err().to_string();
        assert!(err.contains("more than one main module"), "{err}");
    }
}
