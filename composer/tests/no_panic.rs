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
  (@dylink.0 (mem-info (memory 8 2)) (needed))
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
