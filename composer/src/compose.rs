//! The pipeline after parsing, as a flat list of passes (lld's `Writer::run` is the model).
//! Each pass takes the data the earlier ones made and hands new data on; none edits what an
//! earlier pass made.

use crate::synth::{self, Synthesized};
use crate::{
    encode, gc, host, index, layout, map, parse, resolve, validate, Composed, Composer,
    ProviderMode, DL_MODULE,
};
use anyhow::{anyhow, bail, Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
    WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

/// Whether the composition needs the `dl` interface (the shim and the provider).
fn uses_dl(main: &parse::MainModule<'_>, res: &resolve::Resolution) -> bool {
    !main.dl_imports.is_empty()
        || !res.startup.is_empty()
        || res.reexports.iter().any(|h| h.module == DL_MODULE)
        || res
            .main_imports
            .iter()
            .any(|s| matches!(s, resolve::FuncSource::Reexport(h) if h.module == DL_MODULE))
}

impl Composer {
    /// Passes 2 to 5 on the parsed inputs (`validated`: what validating each library saw;
    /// `write`: where the component goes instead of [`Composed::component`], see
    /// [`crate::Composer::compose_with`]).
    pub(crate) fn compose_parsed(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
        validated: &[validate::ValidatedModule<'_>],
        write: Option<&mut crate::Write<'_>>,
    ) -> Result<Composed> {
        if !main.synthesized {
            crate::check_main(main, !libs.is_empty())?;
        }
        // Pass 2: bind every import of main and the libraries to one definition.
        let res = resolve::resolve(main, libs, self.link)?;
        if !self.gc {
            return self.compose_resolved(main, libs, res, validated, None, write);
        }
        // Pass 2b (`--gc`): the libraries without what nothing reaches, bound again (every
        // binding's target is kept, so each import binds to the same definition as before;
        // only the numbering of the libraries' symbols changed).
        let collected = gc::collect(main, libs, &res, &self.gc_options)?;
        let libs = gc::apply(libs, &collected);
        let res = resolve::resolve(main, &libs, self.link)?;
        let report = self.want_map.then(|| gc::render(&libs, &collected));
        // The rewritten libraries, validated from what validating their inputs saw.
        let validated = libs
            .iter()
            .zip(validated)
            .zip(collected.funcs.iter().zip(&collected.body_refs))
            .map(|((lib, v), (funcs, refs))| {
                validate::rewritten(&lib.name, v, lib.bytes, funcs, refs)
            })
            .collect::<Result<Vec<_>>>()?;
        self.compose_resolved(main, &libs, res, &validated, report, write)
    }

    /// Passes 3 to 5 (`gc_map`: the `--gc` section of the link map).
    fn compose_resolved(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
        res: resolve::Resolution,
        validated: &[validate::ValidatedModule<'_>],
        gc_map: Option<String>,
        write: Option<&mut crate::Write<'_>>,
    ) -> Result<Composed> {
        let (layout, table_alloc) = self.layout(main, libs, &res)?;
        encode::check_table_count(libs, layout.groups.len())?;
        // Pass 4a: main but for the prelinked data, all wit-component needs of it.
        // The shim's symbol tables live above the initial memory as the prelinked region does,
        // so `--no-prelink` (for a main whose allocator takes all of `memory.size`) leaves them
        // out too.
        let shape = synth::main_shape(main, libs, &res, &layout, !self.no_prelink)?;
        let hollow = encode::Hollow::of(&shape.module)?;
        let uses_dl = uses_dl(main, &res);
        // The provider is plugged into wit-component's main component (see `encode`).
        let plug = self.provider == ProviderMode::Embedded && uses_dl;
        let (synthesized, main_component, plugged) = std::thread::scope(|scope| {
            // Pass 5a, wit-component's main component and the provider plugged into it, on
            // their own thread beside pass 4 (a third of the composer's time on CPython's
            // set).
            let wit = scope.spawn(|| {
                // The provider's index: every library's names, dependencies and symbols, but
                // the symbols the shim's tables hold.
                let index = self.index(main, libs, &res, &shape.tables);
                let main_component = self.main_component(
                    main,
                    libs,
                    &res,
                    &hollow.module,
                    uses_dl.then_some(shape.symtab),
                );
                let plugged = match (&index, &main_component, plug) {
                    (Ok(index), Ok(component), true) => {
                        Some(encode::plug_stand_in(component.clone(), index))
                    }
                    _ => None,
                };
                (index, main_component, plugged)
            });
            // Pass 4: every module besides what wit-component makes.
            let synthesized = synth::synthesize(main, libs, &res, &layout, table_alloc, &shape);
            let (index, main_component, plugged) = wit
                .join()
                .map_err(|_| anyhow!("internal error: wit-component's thread panicked"))?;
            // The errors in pass order.
            let synthesized = synthesized?;
            index?;
            let main_component = main_component?;
            anyhow::Ok((synthesized, main_component, plugged.transpose()?))
        })?;
        // Pass 5: the libraries appended to wit-component's main component, the provider
        // plugged in; validated.
        let mut warnings = Vec::new();
        let component = self.encode(
            &layout,
            &synthesized,
            &hollow,
            main_component,
            plugged,
            validated,
            write,
        )?;
        // Reports.
        let map = self.want_map.then(|| {
            let mut map = map::render(
                main,
                libs,
                &res,
                &layout,
                table_alloc,
                &synthesized.relocs_applied,
            );
            map.push_str(gc_map.as_deref().unwrap_or_default());
            map
        });
        if self.stack_size.is_some() && !main.synthesized {
            warnings.push(format!(
                "{}: the stack size given is not used: an ordinary main module has its own \
                 stack (link it with `-Wl,-z,stack-size=N`)",
                main.name
            ));
        }
        warnings.extend(res.warnings);
        if let Some(w) = synth::ftalloc::ignored_in_pic_main(main, libs) {
            warnings.push(w);
        }
        Ok(Composed {
            component,
            warnings,
            map,
        })
    }

    /// Pass 3: instantiation order, groups, trampolines, which GOT entries each placement
    /// sets, the prelinked region; and main's table allocator. From here on the resolution does
    /// not change.
    pub(crate) fn layout(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
        res: &resolve::Resolution,
    ) -> Result<(layout::Layout, Option<synth::ftalloc::TableAllocator>)> {
        let mut layout = layout::layout(libs, res);
        let table_alloc = synth::ftalloc::of(main)?;
        if !self.no_prelink {
            if let Some(memory) = synth::main_module::memory_limits(main.bytes)? {
                // Main's table allocator hands out the slots past its table itself.
                let table = table_alloc.is_none().then(|| {
                    let new_end = res
                        .main_new_slots
                        .last()
                        .map_or(0, |(_, s)| u64::from(*s) + 1);
                    main.table_min.max(new_end)
                });
                layout.prelink = layout::prelink(libs, res, memory, table);
            }
        }
        Ok((layout, table_alloc))
    }

    /// Per library, whether the shim's symbol tables hold its symbols (as pass 4 decides:
    /// `synth::symtab`), for an index built without pass 4.
    pub(crate) fn tables(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
        res: &resolve::Resolution,
    ) -> Result<Vec<bool>> {
        if self.no_prelink {
            return Ok(vec![false; libs.len()]);
        }
        let (layout, _) = self.layout(main, libs, res)?;
        synth::symtab::tables(main, libs, layout.prelink.memory_pages)
    }

    /// The index (with this composer's `--lib` aliases; `tables` as for `index::build`).
    pub(crate) fn index(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
        res: &resolve::Resolution,
        tables: &[bool],
    ) -> Result<Vec<u8>> {
        let mut aliases: Vec<Vec<&str>> = vec![Vec::new(); libs.len()];
        for (alias, target) in &self.aliases {
            let id = resolve::find_lib(libs, target).with_context(|| {
                format!(
                    "alias `{alias}`: {}",
                    resolve::search::no_library(libs, target)
                )
            })?;
            aliases[id.index()].push(alias);
        }
        Ok(index::build(main, libs, &aliases, res, tables))
    }

    /// Pass 5 (`main_component`: wit-component's, made from `hollow`; `plugged`: with the
    /// provider plugged in, if it is, see [`encode::plug_provider`]; an empty result when the
    /// component went to `write`).
    #[allow(clippy::too_many_arguments)]
    fn encode(
        &self,
        layout: &layout::Layout,
        synthesized: &Synthesized,
        hollow: &encode::Hollow,
        main_component: Vec<u8>,
        plugged: Option<Option<encode::Plugged>>,
        validated: &[validate::ValidatedModule<'_>],
        write: Option<&mut crate::Write<'_>>,
    ) -> Result<Vec<u8>> {
        // The hollow main component is the stand-in the provider is plugged into (its type is
        // the same).
        let filled = hollow.fill(
            &main_component,
            &synthesized.main_data,
            encode::appended_len(synthesized),
        )?;
        drop(main_component);
        // The modules of a group of one library are that library rewritten, most of its
        // function bodies copied byte for byte: the output's validation skips the copies it
        // can prove valid from the input's validation (see `validate::component`).
        let copies: Vec<validate::Copied<'_>> = layout
            .groups
            .iter()
            .zip(&synthesized.groups)
            .filter_map(|(members, module)| match members.as_slice() {
                [one] => Some(validate::Copied {
                    module,
                    input: validated.get(one.index())?,
                }),
                _ => None,
            })
            .collect();
        // The plugged component is validated as a whole, which covers this one.
        let component = encode::Appender::new(filled)?.append(
            layout,
            synthesized,
            plugged.is_none().then_some(copies.as_slice()),
        )?;
        match plugged {
            Some(plugged) => encode::plug_provider(plugged, component, &copies, write),
            None => match write {
                Some(write) => write(&[&component]).map(|()| Vec::new()),
                None => Ok(component),
            },
        }
    }

    /// wit-component's component of the patched main, its adapters and (if `dl_shim` is given:
    /// the address of its symbol tables or 0) the dl shim.
    fn main_component(
        &self,
        main: &parse::MainModule<'_>,
        libs: &[parse::Library<'_>],
        res: &resolve::Resolution,
        patched_main: &[u8],
        dl_shim: Option<u32>,
    ) -> Result<Vec<u8>> {
        // A main that exports `wasi:cli/run` itself (a preview 2 command, as the root of a
        // wasip2 all-PIC set) needs only WASI preview 1 functions, not a command.
        let user_adapter = |name: &str| self.adapters.iter().find(|a| a.name == name);
        let adapter: &[u8] = match user_adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME) {
            Some(a) => a.bytes.as_slice(),
            None if main.exports_run => WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            None => WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        };
        host::check_wasi_p1(libs, res, adapter)?;
        // What main gained for the libraries, to name them if wit-component refuses it.
        let gained = || {
            let list: Vec<String> = host::added(main, res)
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
        // Not validated here: the final component, which holds this one, is (wit-component
        // would validate the main module's and the adapters' bodies a second time).
        encoder
            .validate(false)
            .module(patched_main)
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
        if let Some(symtab) = dl_shim {
            encoder.adapter(DL_MODULE, &synth::shim::module(symtab)?)?;
        }
        encoder.encode().with_context(gained)
    }
}
