//! The `wasm-dl` command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use wasm_dl::{Composer, ProviderMode};

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
        /// Shared libraries (`wasm-ld -shared`); `dlopen` finds each by this path or its basename.
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
        name: path.display().to_string(),
        bytes,
    })
}

/// A composer with the main module, the libraries and the `--lib ALIAS=LIB` aliases.
fn composer(main: &Path, libs: &[PathBuf], aliases: &[String]) -> Result<Composer> {
    let main = read(main)?;
    let mut composer = Composer::new().main(main.name, main.bytes);
    for lib in libs {
        let lib = read(lib)?;
        composer = composer.library(lib.name, lib.bytes);
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Compose {
            main,
            libs,
            output,
            provider,
            lib_aliases,
            map,
            strict,
            stub_missing,
        } => {
            let mut composer = composer(&main, &libs, &lib_aliases)?;
            composer = composer.provider(match provider {
                Provider::Embedded => ProviderMode::Embedded,
                Provider::External => ProviderMode::External,
            });
            composer = composer
                .strict(strict)
                .stub_missing(stub_missing)
                .map(map.is_some());
            let composed = composer.compose_report()?;
            for w in &composed.warnings {
                eprintln!("wasm-dl: warning: {w}");
            }
            if let (Some(path), Some(text)) = (&map, &composed.map) {
                if path.as_os_str() == "-" {
                    print!("{text}");
                } else {
                    std::fs::write(path, text)
                        .with_context(|| format!("{}: cannot write the map", path.display()))?;
                }
            }
            std::fs::write(&output, &composed.component)
                .with_context(|| format!("{}: cannot write", output.display()))?;
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
            std::fs::write(&output, component)
                .with_context(|| format!("{}: cannot write", output.display()))?;
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
    Ok(())
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("wasm-dl: error: {e:#}");
        std::process::exit(1);
    }
}
