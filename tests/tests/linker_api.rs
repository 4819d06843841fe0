//! The library API with the shape of `wit_component::Linker` (`wasm_dl::Linker`): the example
//! program `examples/linker-api` (compiled into this test) links an all-PIC set, and the same
//! calls on `wit_component::Linker` link it too; both programs print the same.

use anyhow::{ensure, Result};
use wasm_dl_tests::peer::PLAIN_DL_IMPORTS;
use wasm_dl_tests::{build_lib, build_libc_so, build_pic_main, run, CSource};

#[allow(dead_code)] // its `main` is the example's entry point, not called here
#[path = "../../examples/linker-api/main.rs"]
mod linker_api;

const MAIN: &str = r#"#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libplugin.so", RTLD_NOW);
  const char *(*hello)(void) = h ? (const char *(*)(void))dlsym(h, "plugin_hello") : 0;
  printf("%s\n", hello ? hello() : dlerror());
  return 0;
}
"#;

#[test]
fn linker_api_links_like_wit_component() -> Result<()> {
    let main = build_pic_main(&[CSource::inline("main.c", MAIN)], &[PLAIN_DL_IMPORTS])?;
    let plugin = build_lib(
        &[CSource::inline(
            "plugin.c",
            "const char *plugin_hello(void) { return \"hello from the plugin\"; }\n",
        )],
        &[PLAIN_DL_IMPORTS],
    )?;
    let libs = vec![
        ("main.so".to_string(), main, false),
        ("libc.so".to_string(), build_libc_so()?, false),
        ("libplugin.so".to_string(), plugin, true),
    ];
    let ours = run(&linker_api::link(&libs)?, &["app.wasm"], &[])?;
    ensure!(
        ours.stdout_str() == "hello from the plugin\n" && ours.code == 0,
        "{ours:?}"
    );

    // The same calls on the peer's type (which validates through its `encoder()`).
    let mut linker = wit_component::Linker::default();
    for (name, module, dl_openable) in &libs {
        linker.library(name, module, *dl_openable)?;
    }
    linker.use_built_in_libdl(true);
    let peer = run(&linker.encode()?, &["app.wasm"], &[])?;
    ensure!(peer.stdout_str() == ours.stdout_str(), "{peer:?}");
    Ok(())
}

#[test]
fn linker_errors_name_the_library() -> Result<()> {
    let mut linker = wasm_dl::Linker::default();
    linker.library("libc.so", &build_libc_so()?, false)?;
    let err = format!("{:#}", linker.encode().unwrap_err());
    ensure!(
        err.contains("no main module") && err.contains("`libc.so`"),
        "{err}"
    );
    Ok(())
}
