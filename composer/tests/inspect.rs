//! `wasm_dl::inspect`: one input read as compose reads it.

use wasm_dl::inspect::{self, LibrarySummary};
use wasm_dl::Input;

fn input(name: &str, wat: &str) -> Input {
    Input {
        name: name.into(),
        bytes: wat::parse_str(wat).expect("test module"),
    }
}

/// A library's MEM_INFO, NEEDED, imports and symbols; hidden exports and linker entry points are
/// not symbols.
#[test]
fn a_library_reads_as_its_dylink_section_says() {
    let lib = input(
        "libx.so",
        r#"(module
  (@dylink.0 (mem-info (memory 8 2) (table 1 0)) (needed "libc.so"))
  (import "env" "memory" (memory 1))
  (import "env" "__memory_base" (global $mb i32))
  (import "GOT.mem" "answer" (global (mut i32)))
  (func (export "__wasm_call_ctors"))
  (func (export "get") (result i32) i32.const 7)
  (global (export "value") i32 (i32.const 4)))"#,
    );
    assert_eq!(
        inspect::library(&lib).unwrap(),
        LibrarySummary {
            mem_size: 8,
            mem_align: 2,
            table_size: 1,
            needed: vec!["libc.so".into()],
            runpath: vec![],
            imports: vec![
                ("env".into(), "memory".into()),
                ("env".into(), "__memory_base".into()),
                ("GOT.mem".into(), "answer".into()),
            ],
            funcs: vec!["get".into()],
            data: vec![("value".into(), 4)],
            ctor: Some("__wasm_call_ctors".into()),
            dtor: false,
        }
    );
}

/// A module without `dylink.0` is no library: the error names the file and the fix.
#[test]
fn a_main_module_is_no_library() {
    let main = input(
        "main.wasm",
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let err = format!("{:#}", inspect::library(&main).unwrap_err());
    assert!(err.contains("main.wasm"), "{err}");
    let summary = inspect::main_module(&main).unwrap();
    assert!(!summary.position_independent);
    assert!(summary.needed.is_empty());
}

/// A `dylink.0` main (an all-PIC set) reads as position-independent, with its `dl*` imports.
#[test]
fn a_pic_main_is_position_independent() {
    let main = input(
        "main.so",
        r#"(module
  (@dylink.0 (mem-info (memory 0 0)) (needed "libc.so"))
  (import "env" "memory" (memory 1))
  (import "wasm-dl" "dlopen" (func (param i32 i32) (result i32)))
  (func (export "_start")))"#,
    );
    let summary = inspect::main_module(&main).unwrap();
    assert!(summary.position_independent);
    assert_eq!(summary.needed, ["libc.so"]);
    assert_eq!(summary.dl_imports, ["dlopen"]);
}
