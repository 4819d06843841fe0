//! wasm-dl: compose a WebAssembly main module and `dylink.0` shared libraries into one component
//! whose `dlopen`/`dlsym` are answered by a precompiled provider component.
//!
//! The composer is a pipeline of passes over plain data, each handing new data to the next
//! (`Composer::compose_report`, then `compose.rs`); the passes are private modules, and the
//! public API is [`Composer`], [`Linker`], [`flags`], [`inspect`] and `run` (feature `run`):
//!
//! 1. `parse`: every input validated (function bodies in the background, on all cores; see
//!    `validate`) and read into a `MainModule` and `Library`s; an all-PIC set gets the
//!    root module `synth::root` makes, and wasm-dl's setjmp runtime is added when needed.
//!    After it, every input is known to be a well-formed module with a readable `dylink.0`.
//! 2. `resolve`: every import bound to one definition (Linux's precedence, `resolve::scope`);
//!    the `index` the provider reads is built from it. After it, nothing is undefined.
//!    With `--gc` ([`Composer::gc`]), `gc` then removes the libraries' functions and
//!    exports nothing reaches and hands on the libraries as if given so, bound again (each
//!    import to the same definition: every binding's target is a root).
//! 3. `layout`: instantiation order, module groups, trampolines, GOT entries per library.
//! 4. `synth`: every module besides wit-component's, as bytes; first main without the
//!    prelinked data (`synth::main_shape`), all wit-component needs, so that it starts on a
//!    thread of its own while the libraries are rewritten.
//! 5. `encode`: wit-component's main component (beside pass 4, and the provider plugged into
//!    it there), main's data put in, the libraries appended; the result validated before it
//!    is returned (or, with [`Composer::compose_with`], while it is being written).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let app = wasm_dl::Composer::new()
//!     .main("main.wasm", std::fs::read("main.wasm")?)
//!     .library("libgreet.so", std::fs::read("libgreet.so")?)
//!     .compose()?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod alloc;
mod compose;
pub(crate) mod dlfcn;
pub(crate) mod encode;
pub mod flags;
pub(crate) mod gc;
pub(crate) mod host;
pub(crate) mod index;
pub mod inspect;
pub(crate) mod layout;
pub mod linker;
pub(crate) mod map;
pub mod output;
pub(crate) mod parse;
pub(crate) mod provider;
pub(crate) mod resolve;
#[cfg(feature = "run")]
pub mod run;
pub(crate) mod synth;
pub(crate) mod validate;
pub(crate) mod wit;

pub use linker::{Linked, Linker};

use anyhow::{bail, Context, Result};

pub use dlfcn::DL_MODULE;

/// Where the `dl` interface comes from in the composed component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProviderMode {
    /// The precompiled provider (with this composition's index) is plugged in.
    #[default]
    Embedded,
    /// The component keeps importing `wasm-dl:dl/dl`; plug a provider later.
    External,
}

/// One input file: a display name (the path given, used in errors and as the dlopen name) and bytes.
#[derive(Clone, Debug)]
pub struct Input {
    /// Name used in messages and, for libraries, the name `dlopen` finds it by.
    pub name: String,
    /// The module's bytes.
    pub bytes: Vec<u8>,
}

/// A byte-string name (a file name need not be UTF-8) as text for messages: valid UTF-8 as is,
/// every other byte as `\xNN`, so that different names read differently.
pub fn display_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Builder for one composition.
#[derive(Clone, Debug, Default)]
pub struct Composer {
    main: Option<Input>,
    libs: Vec<Input>,
    /// Per library, the byte-string name `dlopen` finds it by, when it is not `Input::name`
    /// ([`Composer::library_bytes_name`]).
    lib_names: Vec<Option<Vec<u8>>>,
    aliases: Vec<(String, String)>,
    provider: ProviderMode,
    link: resolve::LinkOptions,
    want_map: bool,
    /// The root's stack for an all-PIC set ([`Composer::stack_size`]).
    stack_size: Option<u32>,
    /// Adapters given by the user ([`Composer::adapter`]).
    adapters: Vec<Input>,
    /// Whether unreachable code is removed ([`Composer::gc`]).
    gc: bool,
    /// What `gc` is told ([`Composer::dl_openable`]).
    gc_options: gc::Options,
    /// Whether prelinking is off ([`Composer::prelink`]).
    no_prelink: bool,
}

/// What [`Composer::compose_with`] hands the component to: pieces that, concatenated, are the
/// component.
pub type Write<'w> = dyn FnMut(&[&[u8]]) -> Result<()> + 'w;

/// A finished composition.
#[derive(Debug)]
pub struct Composed {
    /// The validated component (empty from [`Composer::compose_with`], which hands it to its
    /// writer).
    pub component: Vec<u8>,
    /// Things worth telling the user (duplicate symbols, ...).
    pub warnings: Vec<String>,
    /// The link map, if asked for with [`Composer::map`].
    pub map: Option<String>,
}

impl Composer {
    /// An empty composition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the main module.
    pub fn main(mut self, name: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.main = Some(Input {
            name: name.into(),
            bytes,
        });
        self
    }

    /// Adds a shared library; `name` is its path in the component (`dlopen` finds it by that
    /// path, made absolute from `/`, by a search of its directory, or by its basename when no
    /// other library has it: see [`wasm_dl_abi::path`]).
    pub fn library(mut self, name: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.libs.push(Input {
            name: name.into(),
            bytes,
        });
        self.lib_names.push(None);
        self
    }

    /// Adds a shared library named by a byte string (a file name need not be UTF-8): its path in
    /// the component is these bytes, as for [`Composer::library`]; messages show it as
    /// [`display_name`] does.
    pub fn library_bytes_name(mut self, name: impl Into<Vec<u8>>, bytes: Vec<u8>) -> Self {
        let name = name.into();
        self.libs.push(Input {
            name: display_name(&name),
            bytes,
        });
        self.lib_names.push(Some(name));
        self
    }

    /// Makes `dlopen(alias)` find the library given as `library` (like a soname link:
    /// `libfoo.so.1` → `libfoo.so`); an alias containing `/` is one more path of the library.
    pub fn alias(mut self, alias: impl Into<String>, library: impl Into<String>) -> Self {
        self.aliases.push((alias.into(), library.into()));
        self
    }

    /// Binds undefined functions to stubs that trap when called (undefined data to address 0)
    /// instead of failing; each is reported as a warning.
    pub fn stub_missing(mut self, yes: bool) -> Self {
        self.link.stub_missing = yes;
        self
    }

    /// Also renders the link map (the text `wasm-dl compose --map` writes).
    pub fn map(mut self, yes: bool) -> Self {
        self.want_map = yes;
        self
    }

    /// Makes duplicate symbol definitions an error instead of a warning.
    pub fn strict(mut self, yes: bool) -> Self {
        self.link.strict = yes;
        self
    }

    /// Whether the libraries loaded before `_start` get their memory at addresses decided at
    /// compose time, their data in the memory's initial image (default: yes; see
    /// `layout::Prelink`). Off, they are placed by `malloc` at every start, as `dlopen` places,
    /// and the shim's symbol tables (`synth::symtab`) are left out: the provider answers every
    /// `dlsym`.
    pub fn prelink(mut self, yes: bool) -> Self {
        self.no_prelink = !yes;
        self
    }

    /// The size in bytes of the stack the composer gives an all-PIC set (the stack of the root
    /// module it synthesizes; default 1 MiB). An ordinary main module has a stack of its own
    /// (wasm-ld's `-z stack-size=N`): the option then only adds a warning.
    pub fn stack_size(mut self, bytes: u32) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Uses `bytes` as the adapter for main's imports from core module `name`, as
    /// wit-component's `ComponentEncoder::adapter`: `wasi_snapshot_preview1` replaces the WASI
    /// adapter wasm-dl embeds (the command or reactor one of
    /// `wasi-preview1-component-adapter-provider`); another name adapts an ordinary main's
    /// imports from that module (libraries reach only WASI and `wasm-dl` on the host side).
    pub fn adapter(mut self, name: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.adapters.push(Input {
            name: name.into(),
            bytes,
        });
        self
    }

    /// Removes the functions and exports of the libraries that no program can reach (`--gc`;
    /// what is kept and what may go: README.md, *Dead-code removal*). The map
    /// ([`Composer::map`]) then says what was removed per library.
    pub fn gc(mut self, yes: bool) -> Self {
        self.gc = yes;
        self
    }

    /// Names libraries (as [`Composer::alias`] takes them) that the program may `dlopen`, so
    /// that [`Composer::gc`] keeps every export of them; then only these (and the `-shared` main
    /// of an all-PIC set) are (wasm-tools' `--dl-openable` model; repeated calls add to the
    /// list, an empty list says none is). Without a call, every library no NEEDED entry names
    /// is. Without `gc` it changes nothing.
    pub fn dl_openable<S: Into<String>>(mut self, libraries: impl IntoIterator<Item = S>) -> Self {
        self.gc_options
            .dl_openable
            .get_or_insert_with(Vec::new)
            .extend(libraries.into_iter().map(Into::into));
        self
    }

    /// Chooses where the `dl` interface comes from.
    pub fn provider(mut self, mode: ProviderMode) -> Self {
        self.provider = mode;
        self
    }

    /// Runs the pipeline and returns the validated component.
    pub fn compose(&self) -> Result<Vec<u8>> {
        Ok(self.compose_report()?.component)
    }

    /// Runs the pipeline and returns the component with the warnings.
    pub fn compose_report(&self) -> Result<Composed> {
        self.compose_inner(None)
    }

    /// Runs the pipeline and hands the component to `write`, as pieces that, concatenated, are
    /// the component, while the last of its validation runs (writing a large component takes
    /// as long): the bytes `write` gets are the component only if this returns `Ok`, so it
    /// should write them where nothing reads them yet (a temporary file) and put them in
    /// place after (as `wasm-dl compose` does: see [`output::Staged`]). An error from
    /// `write` is this call's. [`Composed::component`] is empty.
    pub fn compose_with(&self, mut write: impl FnMut(&[&[u8]]) -> Result<()>) -> Result<Composed> {
        self.compose_inner(Some(&mut write))
    }

    fn compose_inner(&self, write: Option<&mut Write<'_>>) -> Result<Composed> {
        let (mut root, mut runtime) = (None, None);
        let (root, runtime) = (&mut root, &mut runtime);
        std::thread::scope(|scope| {
            // Pass 1: parse. The inputs' function bodies are validated in the background
            // meanwhile (see `validate`).
            let (main, mut libs, validated, pending) = self.parse_validated(scope, root)?;
            add_runtime(&main, &mut libs, runtime)?;
            let composed = self.compose_parsed(&main, &libs, &validated, write);
            // Nothing made from the inputs' bodies is accepted before they are known to be
            // valid; an invalid body is the error to report, also when composing failed on it.
            pending.wait()?;
            composed
        })
    }
}

impl Composer {
    /// Pass 1 on every input, plus the checks across libraries. A position-independent main
    /// (all-PIC input set) becomes the first library, and `root` receives the main module
    /// synthesized in its place (see `synth::root`). When some module calls the setjmp runtime
    /// and no input defines it, `runtime` receives wasm-dl's (`synth::sjlj`), the last library.
    fn parse<'a>(
        &'a self,
        root: &'a mut Option<Input>,
        runtime: &'a mut Option<Input>,
    ) -> Result<(parse::MainModule<'a>, Vec<parse::Library<'a>>)> {
        let (main, mut libs) = self.parse_inputs(root)?;
        add_runtime(&main, &mut libs, runtime)?;
        Ok((main, libs))
    }

    fn parse_inputs<'a>(
        &'a self,
        root: &'a mut Option<Input>,
    ) -> Result<(parse::MainModule<'a>, Vec<parse::Library<'a>>)> {
        std::thread::scope(|scope| {
            let (main, libs, _, pending) = self.parse_validated(scope, root)?;
            pending.wait()?;
            Ok((main, libs))
        })
    }

    /// [`Composer::parse`], also returning what each library's validation saw (for the
    /// output's validation; see `validate`).
    fn parse_validated<'scope, 'a: 'scope>(
        &'a self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        root: &'a mut Option<Input>,
    ) -> Result<(
        parse::MainModule<'a>,
        Vec<parse::Library<'a>>,
        Vec<validate::ValidatedModule<'a>>,
        validate::Pending<'scope, 'a>,
    )> {
        let main_input = self.main.as_ref().context("no main module given")?;
        let pic = synth::root::is_pic_main(&main_input.bytes);
        // Every input is validated first, all together: their function bodies on all cores
        // (see `validate`). `validated[j]` is library j's (the PIC main's first).
        let mut order: Vec<&Input> = Vec::with_capacity(self.libs.len() + 1);
        if pic {
            order.push(main_input);
        }
        order.extend(&self.libs);
        if !pic {
            order.push(main_input);
        }
        let named: Vec<(&str, &[u8])> = order
            .iter()
            .map(|i| (i.name.as_str(), i.bytes.as_slice()))
            .collect();
        let (mut validated, pending) = parse::validate_inputs(scope, &named)?;
        if !pic {
            validated.pop();
        }
        match self.read_inputs(main_input, pic, root) {
            Ok((main, libs)) => Ok((main, libs, validated, pending)),
            // An invalid body is the first error (as it was when validation came first).
            Err(e) => {
                pending.wait()?;
                Err(e)
            }
        }
    }

    /// Reads the validated inputs (see [`Composer::parse`]).
    fn read_inputs<'a>(
        &'a self,
        main_input: &'a Input,
        pic: bool,
        root: &'a mut Option<Input>,
    ) -> Result<(parse::MainModule<'a>, Vec<parse::Library<'a>>)> {
        let mut libs = Vec::with_capacity(self.libs.len() + 1);
        if pic {
            libs.push(parse::read_library_as(main_input, parse::Role::PicMain)?);
        }
        for (i, lib) in self.libs.iter().enumerate() {
            let mut parsed = parse::read_library(lib)?;
            if let Some(Some(name)) = self.lib_names.get(i) {
                parsed.name_bytes = name.clone();
            }
            libs.push(parsed);
        }
        resolve::search::assign_paths(&mut libs)?;
        if !pic {
            return Ok((parse::read_main(main_input)?, libs));
        }
        // The PIC main's entry point runs its constructors (crt1-command does).
        if let Some(pic_main) = libs.first_mut() {
            pic_main.ctor = None;
        }
        let bytes = synth::root::encode(&libs[0], &libs, self.stack_size)?;
        let root: &'a Input = root.insert(Input {
            name: main_input.name.clone(),
            bytes,
        });
        let mut main = parse::main_module(root)
            .with_context(|| format!("{}: internal error in the root module", root.name))?;
        main.needed.push(main_input.name.clone());
        // dlopen from the PIC main searches its RUNPATH.
        main.runpath = libs[0].runpath.clone();
        // Its functions (run, malloc, cabi_realloc, ...) are plumbing, not symbols: libraries
        // bind `malloc` to libc.so's, as they would with the PIC main alone. `__cxa_atexit`
        // (libc's) stays, so that library destructors go to per-library lists (`atexit`).
        main.funcs.retain(|name, _| name == synth::atexit::SYMBOL);
        main.synthesized = true;
        Ok((main, libs))
    }
}

/// Appends wasm-dl's setjmp runtime (`synth::sjlj`) to the libraries when some module calls it
/// and no input defines it; `runtime` holds its bytes.
fn add_runtime<'a>(
    main: &parse::MainModule<'_>,
    libs: &mut Vec<parse::Library<'a>>,
    runtime: &'a mut Option<Input>,
) -> Result<()> {
    if synth::sjlj::needed(main, libs) {
        let input: &'a Input = runtime.insert(Input {
            name: synth::sjlj::NAME.to_string(),
            bytes: synth::sjlj::module(),
        });
        libs.push(
            parse::library(input)
                .context("internal error: wasm-dl's setjmp runtime does not parse")?,
        );
    }
    Ok(())
}

fn check_main(main: &parse::MainModule<'_>, has_libs: bool) -> Result<()> {
    let mut missing = Vec::new();
    if has_libs || !main.dl_imports.is_empty() {
        for f in ["malloc", "free"] {
            if !main.funcs.contains_key(f) {
                missing.push(f);
            }
        }
    }
    if !missing.is_empty() {
        let flags: Vec<String> = missing
            .iter()
            .map(|f| format!("-Wl,--export={f}"))
            .collect();
        bail!(
            "{}: does not export {}, which wasm-dl allocates library memory and messages with; \
             link it with `{}`",
            main.name,
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and "),
            flags.join(" ")
        );
    }
    // wasm-dl calls them as C's `void *malloc(size_t)` and `void free(void *)` (wasm32),
    // when it calls them at all.
    let used = has_libs || !main.dl_imports.is_empty();
    let i32 = wasmparser::ValType::I32;
    for (f, want) in [
        ("malloc", wasmparser::FuncType::new([i32], [i32])),
        ("free", wasmparser::FuncType::new([i32], [])),
    ] {
        if let Some((_, ty)) = main.funcs.get(f).filter(|_| used) {
            if *ty != want {
                bail!(
                    "{}: exports `{f}` as {}, but wasm-dl calls it as C's `{f}`, {}: export the C \
                     library's `{f}` (`-Wl,--export={f}`), not another function under its name",
                    main.name,
                    resolve::sig(ty),
                    resolve::sig(&want)
                );
            }
        }
    }
    for name in &main.dl_imports {
        if !dlfcn::EXPORTS.contains(&name.as_str()) {
            bail!(
                "{}: imports `{DL_MODULE}.{name}`, which wasm-dl does not provide (it provides {})",
                main.name,
                dlfcn::EXPORTS.join(", ")
            );
        }
    }
    Ok(())
}
