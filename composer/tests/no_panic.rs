//! The composer never panics, whatever the bytes: every mutation of a valid main module (an
//! ordinary one, or position-independent) and library (bytes flipped, sections truncated) is
//! either composed or rejected with an error.

use std::panic::{catch_unwind, AssertUnwindSafe};

const MAIN: &str = r#"
(module
  (memory (export "memory") 2)
  (table (export "__indirect_function_table") 1 funcref)
  (global $sp (export "__stack_pointer") (mut i32) (i32.const 65536))
  (global (export "answer") i32 (i32.const 1024))
  (func $malloc (export "malloc") (param i32) (result i32) i32.const 2048)
  (func (export "free") (param i32))
  (func (export "_start"))
  (data (i32.const 1024) "\2a\00\00\00"))
"#;

const LIB: &str = r#"
(module
  (@dylink.0 (mem-info (memory 8 2) (table 1 0)) (needed))
  (import "env" "memory" (memory 1))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__stack_pointer" (global (mut i32)))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (import "env" "malloc" (func $malloc (param i32) (result i32)))
  (import "GOT.mem" "answer" (global $answer (mut i32)))
  (import "GOT.func" "get" (global $get_slot (mut i32)))
  (func $ctors (export "__wasm_call_ctors"))
  (func (export "__wasm_apply_data_relocs"))
  (func $get (export "get") (result i32) global.get $answer i32.load)
  (func (export "get_ptr") (result i32) global.get $get_slot)
  (global (export "value") i32 (i32.const 4))
  (elem (global.get $tb) func $get)
  (data (global.get $mb) "\07\00\00\00\09\00\00\00"))
"#;

/// A position-independent main (all-PIC input set): the composer synthesizes its root.
const PIC_MAIN: &str = r#"
(module
  (@dylink.0 (mem-info (memory 8 2)))
  (import "env" "memory" (memory 1))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__stack_pointer" (global (mut i32)))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global i32))
  (import "env" "get" (func $get (result i32)))
  (global (export "answer") i32 (i32.const 0))
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "_start") call $get drop)
  (data (global.get $mb) "\2a\00\00\00"))
"#;

fn compose(main: &[u8], lib: &[u8]) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        wasm_dl::Composer::new()
            .main("main.wasm", main.to_vec())
            .library("libx.so", lib.to_vec())
            .provider(wasm_dl::ProviderMode::External)
            .compose()
    }));
    assert!(
        result.is_ok(),
        "the composer panicked (main {main:?}, lib {lib:?})"
    );
}

#[test]
fn valid_inputs_compose() {
    let main = wat::parse_str(MAIN).unwrap();
    let lib = wat::parse_str(LIB).unwrap();
    wasm_dl::Composer::new()
        .main("main.wasm", main)
        .library("libx.so", lib)
        .provider(wasm_dl::ProviderMode::External)
        .compose()
        .unwrap();
}

#[test]
fn valid_pic_inputs_compose() {
    wasm_dl::Composer::new()
        .main("main.so", wat::parse_str(PIC_MAIN).unwrap())
        .library("libx.so", wat::parse_str(LIB).unwrap())
        .provider(wasm_dl::ProviderMode::External)
        .compose()
        .unwrap();
}

#[test]
fn mutated_inputs_never_panic() {
    mutate(
        &wat::parse_str(MAIN).unwrap(),
        &wat::parse_str(LIB).unwrap(),
    );
}

#[test]
fn mutated_pic_inputs_never_panic() {
    mutate(
        &wat::parse_str(PIC_MAIN).unwrap(),
        &wat::parse_str(LIB).unwrap(),
    );
}

/// Sizes and offsets near `u32::MAX` (found by fuzzing: they overflowed sums in the parser
/// and the loader): each is an error naming the input, never a panic.
#[test]
fn extreme_sizes_are_errors() {
    let main = wat::parse_str(MAIN).unwrap();
    // A main element segment at `i32.const -1` with more than one function.
    let elem_main = MAIN.replace(
        "(data (i32.const 1024)",
        "(elem (i32.const -1) func $malloc $malloc) (data (i32.const 1024)",
    );
    let elem_main = wat::parse_str(&elem_main).unwrap();
    let lib = wat::parse_str(LIB).unwrap();
    let err = compose_err(&elem_main, &lib);
    assert!(err.contains("main.wasm: an element segment"), "{err}");
    // MEM_INFO table sizes near u32::MAX, with exported functions.
    for table in ["0xffffffff", "0xfffffffe", "0x7fffffff", "10000000"] {
        let huge = LIB.replace("(table 1 0))", &format!("(table {table} 0))"));
        let err = compose_err(&main, &wat::parse_str(&huge).unwrap());
        assert!(
            err.contains("libx.so: `dylink.0` MEM_INFO table size"),
            "{err}"
        );
    }
    // Table alignment padding on top of a table size just under the limit.
    let aligned = LIB.replace("(table 1 0))", "(table 9999990 16))");
    let err = compose_err(&main, &wat::parse_str(&aligned).unwrap());
    assert!(err.contains("table slots"), "{err}");
    // MEM_INFO memory sizes near u32::MAX.
    for (size, align) in [
        ("0xffffffff", 1),
        ("0xfffffff8", 4),
        ("0x80000001", 31),
        ("8", 32),
    ] {
        let huge = LIB.replace("(memory 8 2)", &format!("(memory {size} {align})"));
        let err = compose_err(&main, &wat::parse_str(&huge).unwrap());
        assert!(err.contains("libx.so: `dylink.0` MEM_INFO"), "{err}");
    }
}

/// Composes and expects an error (not a panic, not a component).
fn compose_err(main: &[u8], lib: &[u8]) -> String {
    let result = catch_unwind(AssertUnwindSafe(|| {
        wasm_dl::Composer::new()
            .main("main.wasm", main.to_vec())
            .library("libx.so", lib.to_vec())
            .provider(wasm_dl::ProviderMode::External)
            .compose()
    }));
    match result {
        Ok(Ok(_)) => panic!("composed; expected an error"),
        Ok(Err(e)) => format!("{e:#}"),
        Err(_) => panic!("the composer panicked"),
    }
}

fn mutate(main: &[u8], lib: &[u8]) {
    // A fixed-seed generator: the same mutations every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let (mut m, mut l) = (main.to_vec(), lib.to_vec());
        let target = if round % 2 == 0 { &mut l } else { &mut m };
        match next() % 3 {
            0 => {
                let i = (next() as usize) % target.len();
                target[i] ^= (next() % 255 + 1) as u8;
            }
            1 => {
                let cut = (next() as usize) % target.len();
                target.truncate(cut);
            }
            _ => {
                let i = (next() as usize) % target.len();
                target[i] = 0xff;
                let j = (next() as usize) % target.len();
                target[j] = 0x80;
            }
        }
        compose(&m, &l);
    }
}

/// Libraries that define tables of their own, more in all than wasmtime allows in one store
/// (10,000): a compose-time error naming the limit, not a component that cannot instantiate.
#[test]
fn too_many_tables_is_an_error() {
    let tables = "(table 0 funcref) ".repeat(100);
    let lib = wat::parse_str(format!(
        "(module (@dylink.0 (mem-info (memory 0 0))) (import \"env\" \"memory\" (memory 0)) \
         {tables} (func (export \"f\")))"
    ))
    .unwrap();
    let mut c = wasm_dl::Composer::new()
        .main("main.wasm", wat::parse_str(MAIN).unwrap())
        .provider(wasm_dl::ProviderMode::External);
    for i in 0..100 {
        c = c.library(format!("lib{i}.so"), lib.clone());
    }
    let err = format!("{:#}", c.compose().unwrap_err());
    assert!(
        err.contains("more than wasmtime allows in one store (10000)"),
        "{err}"
    );
}
