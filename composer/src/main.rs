//! The `wasm-dl` command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use wasm_dl::output::{write_all, Output, Staged};
use wasm_dl::{Composer, ProviderMode};

/// Large blocks on huge pages (see `wasm_dl::alloc`).
#[global_allocator]
static GLOBAL: wasm_dl::alloc::HugePages = wasm_dl::alloc::HugePages;

mod cli {
    pub mod link;
    #[cfg(feature = "run")]
    pub mod run;
}

#[derive(Parser)]
#[command(
    name = "wasm-dl",
    version,
    about = "dlopen and shared libraries for WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Provider {
    /// Plug the built-in provider (with this composition's index) into the component.
    Embedded,
    /// Leave the component importing `wasm-dl:dl/dl`.
    External,
}

#[derive(Subcommand)]
enum Command {
    /// Compose a main module and shared libraries into one component.
    Compose {
        /// The main module (a non-PIC wasm-ld executable).
        main: PathBuf,
        /// Shared libraries (`wasm-ld -shared`), each bundled at this path made absolute from `/`;
        /// `dlopen` finds one by that path, through `LD_LIBRARY_PATH` and RUNPATH, or by its
        /// basename when no other library has it.
        libs: Vec<PathBuf>,
        /// Where to write the component.
        #[arg(short, long)]
        output: PathBuf,
        /// Where the dl interface comes from.
        #[arg(long, value_enum, default_value = "embedded")]
        provider: Provider,
        /// Another name `dlopen` finds a library by, like a soname link:
        /// `--lib libfoo.so.1=libfoo.so` (repeatable; LIB is a library as given above).
        #[arg(long = "lib", value_name = "ALIAS=LIB")]
        lib_aliases: Vec<String>,
        /// Write a link map (where each import was bound, load order) to FILE (`-`: stdout).
        #[arg(long, value_name = "FILE")]
        map: Option<PathBuf>,
        /// Make duplicate symbol definitions an error.
        #[arg(long)]
        strict: bool,
        /// Bind undefined functions to stubs that trap when called instead of failing.
        #[arg(long)]
        stub_missing: bool,
        /// Remove the libraries' functions and exports that no program can reach: kept are
        /// every export a module binds, every export of a library that may be `dlopen`ed
        /// (`--dl-openable`, else those no NEEDED entry names), what constructors and the table
        /// reach; fold a library's identical functions into one (as lld's `--icf`; each keeps
        /// its function pointers); and re-encode every library's code with the shortest
        /// immediates (as lld's `--compress-relocations`; DWARF goes) (README: "Dead-code
        /// removal").
        #[arg(long)]
        gc: bool,
        /// With `--gc`: LIB (as given above) may be `dlopen`ed and keeps every export
        /// (repeatable). Once given, only these libraries are; without it, every library no
        /// NEEDED entry names is.
        #[arg(long, value_name = "LIB")]
        dl_openable: Vec<String>,
        /// Place the libraries loaded before `_start` at run time (with `malloc`), as `dlopen`
        /// does, instead of at addresses fixed now with their data in the memory's image (and
        /// leave out the symbol tables `dlsym` reads there: the provider answers every lookup).
        #[arg(long)]
        no_prelink: bool,
    },
    /// Write the provider component (exporting `wasm-dl:dl/dl`, with this composition's library
    /// index) for a component composed with `--provider external`; plug it with `wac plug` or
    /// `wasm-tools compose`. Give the same MAIN, LIBS and options as to `compose`.
    Provider {
        /// The main module.
        main: PathBuf,
        /// The shared libraries, as given to `compose`.
        libs: Vec<PathBuf>,
        /// Where to write the provider component.
        #[arg(short, long)]
        output: PathBuf,
        /// Another name `dlopen` finds a library by (as for `compose`).
        #[arg(long = "lib", value_name = "ALIAS=LIB")]
        lib_aliases: Vec<String>,
        /// As for `compose`.
        #[arg(long)]
        stub_missing: bool,
    },
    /// Link like `wasm-tools component link` (the same command line, 1.262): the module with
    /// `_start` is the main one, the others are its libraries; `--dl-openable NAME=MODULE`
    /// libraries are found by `dlopen(NAME)`.
    Link(cli::link::LinkArgs),
    /// Compose in memory and run in the embedded wasmtime (as `wasmtime run`), passing the
    /// program's exit code through: `wasm-dl run MAIN [LIBS...] [-- ARGS...]`.
    #[cfg(feature = "run")]
    Run(cli::run::RunArgs),
    /// Print the clang flags a module needs.
    Flags {
        #[command(subcommand)]
        role: Role,
    },
}

#[derive(Subcommand)]
enum Role {
    /// Flags for the main module, including one `--export=` per symbol the libraries import.
    Main {
        /// The shared libraries the main module will be composed with.
        libs: Vec<PathBuf>,
    },
    /// Flags for a shared library.
    Lib,
}

fn read(path: &Path) -> Result<wasm_dl::Input> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(wasm_dl::Input {
        name: wasm_dl::display_name(&path_bytes(path)),
        bytes,
    })
}

/// A path as the bytes the system gave (file names need not be UTF-8).
fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.display().to_string().into_bytes()
    }
}

/// A composer with the main module, the libraries and the `--lib ALIAS=LIB` aliases.
pub(crate) fn composer(main: &Path, libs: &[PathBuf], aliases: &[String]) -> Result<Composer> {
    let main = read(main)?;
    let mut composer = Composer::new().main(main.name, main.bytes);
    for lib in libs {
        let bytes =
            std::fs::read(lib).with_context(|| format!("{}: cannot read", lib.display()))?;
        // `dlopen` finds it by the exact bytes of the path given.
        composer = composer.library_bytes_name(path_bytes(lib), bytes);
    }
    for a in aliases {
        let (alias, lib) = a
            .split_once('=')
            .filter(|(alias, lib)| !alias.is_empty() && !lib.is_empty())
            .with_context(|| format!("--lib {a}: expected ALIAS=LIB"))?;
        composer = composer.alias(alias, lib);
    }
    Ok(composer)
}

/// Runs the command; `Ok(code)` is the exit code (the program's, for `run`).
fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Link(args) => args.run()?,
        #[cfg(feature = "run")]
        Command::Run(args) => return args.run(),
        Command::Compose {
            main,
            libs,
            output,
            provider,
            lib_aliases,
            map,
            strict,
            stub_missing,
            gc,
            dl_openable,
            no_prelink,
        } => {
            let mut composer = composer(&main, &libs, &lib_aliases)?;
            if !dl_openable.is_empty() {
                composer = composer.dl_openable(dl_openable);
            }
            composer = composer.provider(match provider {
                Provider::Embedded => ProviderMode::Embedded,
                Provider::External => ProviderMode::External,
            });
            composer = composer
                .strict(strict)
                .stub_missing(stub_missing)
                .gc(gc)
                .prelink(!no_prelink)
                .map(map.is_some());
            // All outputs or none: each is written to a temporary file beside it (the
            // component while its validation ends), and they are renamed into place only when
            // every one was written.
            let mut staged = Staged::default();
            let composed =
                composer.compose_with(|parts| staged.stage(&output, parts, "component"))?;
            for w in &composed.warnings {
                eprintln!("wasm-dl: warning: {w}");
            }
            if let (Some(path), Some(text)) = (&map, &composed.map) {
                if path.as_os_str() == "-" {
                    print!("{text}");
                } else {
                    staged.stage(path, &[text.as_bytes()], "map")?;
                }
            }
            staged.commit()?;
        }
        Command::Provider {
            main,
            libs,
            output,
            lib_aliases,
            stub_missing,
        } => {
            let composer = composer(&main, &libs, &lib_aliases)?;
            let component = composer.stub_missing(stub_missing).provider_component()?;
            write_all(&[Output::new(&output, &component, "provider component")])?;
        }
        Command::Flags {
            role: Role::Main { libs },
        } => {
            let libs = libs.iter().map(|l| read(l)).collect::<Result<Vec<_>>>()?;
            println!("{}", wasm_dl::flags::main_flags(&libs)?.join("\n"));
            if !libs.is_empty() {
                eprintln!("{}", wasm_dl::flags::MAIN_PIC_NOTE);
            }
        }
        Command::Flags { role: Role::Lib } => {
            println!("compile: {}", wasm_dl::flags::LIB_COMPILE_FLAGS.join(" "));
            println!(
                "link (wasm-ld): {}",
                wasm_dl::flags::LIB_LINK_FLAGS.join(" ")
            );
        }
    }
    Ok(0)
}

fn main() {
    // A write past `ulimit -f` then fails with EFBIG (and the temporary file is removed)
    // instead of killing the process half-way through a file.
    #[cfg(unix)]
    // SAFETY: setting a signal to SIG_IGN at start-up, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    match run(Cli::parse()) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("wasm-dl: error: {e:#}");
            std::process::exit(1);
        }
    }
}
