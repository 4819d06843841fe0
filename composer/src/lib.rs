//! wasm-dl: compose a WebAssembly main module and `dylink.0` shared libraries into one component
//! whose `dlopen`/`dlsym` are answered by a precompiled provider component.
//!
//! The composer is a pipeline of passes over plain data:
//! [`parse`] → [`resolve`] → [`layout`] → [`synth`] → [`encode`].
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let app = wasm_dl::Composer::new()
//!     .main("main.wasm", std::fs::read("main.wasm")?)
//!     .library("libgreet.so", std::fs::read("libgreet.so")?)
//!     .compose()?;
//! # Ok(()) }
//! ```

pub mod encode;
pub mod flags;
pub(crate) mod host;
pub mod index;
pub mod layout;
pub mod linker;
pub mod map;
pub mod parse;
pub mod provider;
pub mod resolve;
#[cfg(feature = "run")]
pub mod run;
pub mod synth;
pub mod validate;
pub mod wit;

pub use linker::{Linked, Linker};

use anyhow::{bail, Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
    WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

/// The core module name main imports the `dl*` functions from (see `include/dlfcn.h`).
pub const DL_MODULE: &str = "wasm-dl";

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
}

/// A finished composition.
#[derive(Debug)]
pub struct Composed {
    /// The validated component.
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

    /// Adds a shared library; `name` is what `dlopen` finds it by (its basename works too).
    pub fn library(mut self, name: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.libs.push(Input {
            name: name.into(),
            bytes,
        });
        self.lib_names.push(None);
        self
    }

    /// Adds a shared library named by a byte string (a file name need not be UTF-8): `dlopen`
    /// finds it by exactly these bytes (or its basename); messages show it as
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
    /// `libfoo.so.1` → `libfoo.so`).
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

    /// Also renders the link map (see [`map`]).
    pub fn map(mut self, yes: bool) -> Self {
        self.want_map = yes;
        self
    }

    /// Makes duplicate symbol definitions an error instead of a warning.
    pub fn strict(mut self, yes: bool) -> Self {
        self.link.strict = yes;
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
        let (mut root, mut runtime) = (None, None);
        let (root, runtime) = (&mut root, &mut runtime);
        std::thread::scope(|scope| {
            // Pass 1: parse. The inputs' function bodies are validated in the background
            // meanwhile (see `validate`).
            let (main, mut libs, validated, pending) = self.parse_validated(scope, root)?;
            add_runtime(&main, &mut libs, runtime)?;
            let composed = self.compose_parsed(&main, &libs, &validated);
            // Nothing made from the inputs' bodies is accepted before they are known to be
            // valid; an invalid body is the error to report, also when composing failed on it.
            pending.wait()?;
            composed
        })
    }

    /// Passes 2 to 5 on the parsed inputs.
    fn compose_parsed(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
        validated: &[validate::ValidatedModule<'_>],
    ) -> Result<Composed> {
        let (main, libs) = (main, libs);
        if !main.synthesized {
            check_main(main, !libs.is_empty())?;
        }
        // Passes 2 and 3: resolve, layout.
        let (res, layout) = self.resolve_and_layout(main, libs)?;
        // Pass 4: synthesize.
        let mut rewritten = Vec::with_capacity(libs.len());
        let mut has_start = Vec::with_capacity(libs.len());
        let mut slot_tables = Vec::with_capacity(libs.len());
        let mut import_names = Vec::with_capacity(libs.len());
        let slot_base = slot_bases(libs, &layout)?;
        encode::check_table_count(libs, layout.groups.len())?;
        for (j, lib) in libs.iter().enumerate() {
            let names = encode::import_names(resolve::LibId(j as u32), libs, &res, &layout)?;
            let prefix = layout::export_name(resolve::LibId(j as u32), "");
            let r = synth::library::rewrite(lib, &names, &prefix, slot_base[j])?;
            import_names.push(names);
            rewritten.push(r.bytes);
            has_start.push(r.has_start);
            slot_tables.push(r.slot_table);
        }
        let env = synth::env::EnvModule::new(libs, &res, &layout);
        let env_module = env.encode(
            libs.len() as u32,
            &res.gots,
            &layout.stubs,
            &layout.own_stack,
        )?;
        let atexit_users: Vec<u32> = import_names
            .iter()
            .enumerate()
            .filter(|(_, names)| names.iter().any(|(m, _)| m == synth::atexit::MODULE))
            .map(|(j, _)| j as u32)
            .collect();
        let atexit_module = (!atexit_users.is_empty())
            .then(|| synth::atexit::encode(libs.len() as u32, &atexit_users));
        let loader_module = synth::loader::encode(
            libs,
            &has_start,
            &res.gots,
            &layout,
            atexit_module.is_some(),
            &main_slots(main, &res),
        );
        let main_bytes = match synth::plt::Plan::new(main, &res) {
            Some(plan) => std::borrow::Cow::Owned(synth::plt::rewrite(main, &plan)?),
            None => std::borrow::Cow::Borrowed(main.bytes),
        };
        let patched_main = synth::main_module::patch(
            main,
            &main_bytes,
            &res.reexports,
            &res.main_new_slots,
            &res.main_tags,
        )?;
        let uses_dl = !main.dl_imports.is_empty()
            || !res.startup.is_empty()
            || res.reexports.iter().any(|h| h.module == DL_MODULE)
            || res
                .main_imports
                .iter()
                .any(|s| matches!(s, resolve::FuncSource::Reexport(h) if h.module == DL_MODULE));
        // Pass 5: encode.
        // A main that exports `wasi:cli/run` itself (a preview 2 command, as the root of a
        // wasip2 all-PIC set) needs only WASI preview 1 functions, not a command.
        let user_adapter = |name: &str| self.adapters.iter().find(|a| a.name == name);
        let adapter: &[u8] = match user_adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME) {
            Some(a) => a.bytes.as_slice(),
            None if main.exports_run => WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            None => WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        };
        let mut warnings = Vec::new();
        if self.stack_size.is_some() && !main.synthesized {
            warnings.push(format!(
                "{}: the stack size given is not used: an ordinary main module has its own \
                 stack (link it with `-Wl,-z,stack-size=N`)",
                main.name
            ));
        }
        host::check_wasi_p1(libs, &res, adapter)?;
        // What main gained for the libraries, to name them if wit-component refuses it.
        let gained = || {
            let list: Vec<String> = host::added(main, &res)
                .iter()
                .filter(|h| h.module != DL_MODULE)
                .map(|h| {
                    let who = host::importer(libs, h).map_or("a library", |l| l.name.as_str());
                    format!("`{}.{}` for {who}", h.module, h.field)
                })
                .collect();
            if list.is_empty() {
                format!("{}: cannot make a component of it", main.name)
            } else {
                format!(
                    "{}: cannot make a component of it with the host imports the libraries \
                     need ({})",
                    main.name,
                    list.join(", ")
                )
            }
        };
        let mut encoder = wit_component::ComponentEncoder::default();
        encoder
            .validate(true)
            .module(&patched_main)
            .with_context(gained)?
            .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter)
            .with_context(|| format!("the {WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME} adapter"))?;
        for a in &self.adapters {
            if a.name == WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME {
                continue;
            }
            if a.name == DL_MODULE || main.synthesized {
                bail!(
                    "adapter `{}`: wasm-dl adapts only `{WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME}` {}; \
                     leave this adapter out",
                    a.name,
                    if main.synthesized {
                        "in an all-PIC set (its libraries reach the host only through WASI)"
                    } else {
                        "and provides `wasm-dl` itself"
                    }
                );
            }
            encoder
                .adapter(&a.name, &a.bytes)
                .with_context(|| format!("adapter `{}`", a.name))?;
        }
        if uses_dl {
            encoder.adapter(DL_MODULE, &synth::shim::module()?)?;
        }
        let component = encoder.encode().with_context(gained)?;
        let group_modules =
            synth::merge::group_modules(libs, rewritten, &slot_tables, &import_names, &layout)?;
        // The modules of a group of one library are that library rewritten, most of its
        // function bodies copied byte for byte: the output's validation skips the copies it
        // can prove valid from the input's validation (see `validate::component`).
        let copies: Vec<validate::Copied<'_>> = layout
            .groups
            .iter()
            .zip(&group_modules)
            .filter_map(|(members, module)| match members.as_slice() {
                [one] => Some(validate::Copied {
                    module,
                    input: validated.get(one.index())?,
                }),
                _ => None,
            })
            .collect();
        // The plugged component is validated as a whole, which covers this one.
        let plug = self.provider == ProviderMode::Embedded && uses_dl;
        let component = encode::Appender::new(component)?.append(
            &group_modules,
            &import_names,
            &layout,
            &encode::Synthesized {
                env: &env_module,
                atexit: atexit_module.as_deref(),
                loader: &loader_module,
            },
            (!plug).then_some(copies.as_slice()),
        )?;
        let component = if plug {
            encode::plug_provider(&component, &layout.index, &copies)?
        } else {
            component
        };
        let map = self
            .want_map
            .then(|| map::render(main, libs, &res, &layout));
        warnings.extend(res.warnings);
        Ok(Composed {
            component,
            warnings,
            map,
        })
    }
}

/// Where each library's function slots start in its group's shared slot table (see
/// `synth::merge`): after those of the group's earlier members. A group's table holds at most
/// `parse::MAX_TABLE_SLOTS` entries (the largest table a module may declare).
fn slot_bases(libs: &[parse::Library<'_>], layout: &layout::Layout) -> Result<Vec<u32>> {
    let mut base = vec![0u32; libs.len()];
    for members in &layout.groups {
        let mut next = 0u64;
        for l in members {
            base[l.index()] = next as u32;
            next += libs[l.index()].funcs.len() as u64;
            if next > u64::from(parse::MAX_TABLE_SLOTS) {
                bail!(
                    "the libraries merged with {} into one core module export {next} functions \
                     or more, more than one table may hold ({}); compose fewer libraries or \
                     libraries exporting fewer functions",
                    libs[l.index()].name,
                    parse::MAX_TABLE_SLOTS
                );
            }
        }
    }
    Ok(base)
}

/// The globals of main that point into libraries, for the loader to set (see `synth::plt`):
/// the slots of main's PLT entries and what its `GOT.*` imports became.
fn main_slots(
    main: &parse::MainModule<'_>,
    res: &resolve::Resolution,
) -> Vec<synth::loader::MainSlot> {
    use resolve::GotTarget;
    let plt = main
        .lib_imports
        .iter()
        .zip(&res.main_imports)
        .filter_map(|(imp, src)| match src {
            resolve::FuncSource::Lib(lib, k) => Some(synth::loader::MainSlot {
                global: synth::plt::plt_global(&imp.name),
                lib: *lib,
                k: *k,
                func: true,
            }),
            _ => None,
        });
    let got = main
        .got_imports
        .iter()
        .zip(&res.main_gots)
        .filter_map(|(g, t)| {
            let (lib, k, func) = match t {
                GotTarget::LibFunc(l, k) => (*l, *k, true),
                GotTarget::LibData(l, off) => (*l, *off, false),
                _ => return None,
            };
            Some(synth::loader::MainSlot {
                global: synth::plt::got_global(g.func, &g.name),
                lib,
                k,
                func,
            })
        });
    plt.chain(got).collect()
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
        check_names(&libs)?;
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
        // Its functions (run, malloc, cabi_realloc, ...) are plumbing, not symbols: libraries
        // bind `malloc` to libc.so's, as they would with the PIC main alone. `__cxa_atexit`
        // (libc's) stays, so that library destructors go to per-library lists (`atexit`).
        main.funcs.retain(|name, _| name == synth::atexit::SYMBOL);
        main.synthesized = true;
        Ok((main, libs))
    }

    /// Passes 2 and 3: bind every import, then decide the layout (and so the index).
    fn resolve_and_layout(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
    ) -> Result<(resolve::Resolution, layout::Layout)> {
        let mut res = resolve::resolve(main, libs, self.link)?;
        // Libraries reach `dlsym` through env-module wrappers that send `RTLD_NEXT` to the
        // shim's `dlsym`-from-a-library (see `synth::env::DLSYM_NEXT`): main re-exports it too.
        let calls_dlsym = res
            .bindings
            .iter()
            .flatten()
            .any(|b| matches!(b, resolve::Binding::Func(src) if synth::env::is_dlsym(src)));
        if calls_dlsym {
            res.reexports.push(resolve::HostImport {
                module: DL_MODULE.to_string(),
                field: synth::env::DLSYM_NEXT.to_string(),
                ty: wasmparser::FuncType::new(
                    [wasmparser::ValType::I32; 2],
                    [wasmparser::ValType::I32],
                ),
            });
        }
        let mut aliases: Vec<Vec<&str>> = vec![Vec::new(); libs.len()];
        for (alias, target) in &self.aliases {
            let id = resolve::find_lib(libs, target).with_context(|| {
                format!("alias `{alias}`: no library named `{target}` was given")
            })?;
            aliases[id.index()].push(alias);
        }
        let layout = layout::layout(main, libs, &aliases, &mut res);
        Ok((res, layout))
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

fn check_names(libs: &[parse::Library<'_>]) -> Result<()> {
    let mut seen = hashbrown::HashMap::new();
    for lib in libs {
        let base = lib.basename();
        if let Some(other) = seen.insert(base, lib.name.clone()) {
            bail!(
                "two libraries are named `{}` ({other} and {}); give each library once",
                display_name(base),
                lib.name
            );
        }
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
    for name in &main.dl_imports {
        if !synth::shim::EXPORTS.contains(&name.as_str()) {
            bail!(
                "{}: imports `{DL_MODULE}.{name}`, which wasm-dl does not provide (it provides {})",
                main.name,
                synth::shim::EXPORTS.join(", ")
            );
        }
    }
    Ok(())
}
