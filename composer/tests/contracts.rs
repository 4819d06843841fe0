//! The contracts of `wasm-dl-abi` against their other spellings: `include/dlfcn.h` for C
//! programs (`wit/dl.wit`'s are checked beside the WIT package, in `src/wit.rs`).

use wasm_dl_abi::dl;

/// Every `#define` of dlfcn.h that wasm-dl-abi defines has the abi's value, and the abi
/// defines every `RTLD_*` the header has.
#[test]
fn dlfcn_h_spells_the_abi_values() {
    let header = include_str!("../../include/dlfcn.h");
    let mut seen = Vec::new();
    for line in header.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#define") {
            continue;
        }
        let (Some(name), rest) = (words.next(), words.collect::<Vec<_>>().join(" ")) else {
            continue;
        };
        if !name.starts_with("RTLD_") {
            continue;
        }
        let value = match rest.as_str() {
            "((void *)0)" => 0,
            "((void *)-1)" => -1,
            hex if hex.starts_with("0x") => i64::from_str_radix(&hex[2..], 16).unwrap(),
            dec => dec.parse().unwrap_or_else(|_| panic!("{name}: {dec}")),
        };
        let abi = dl::DLFCN_DEFINES.iter().find(|(n, _)| *n == name);
        assert_eq!(abi.map(|(_, v)| *v), Some(value), "{name} in dlfcn.h");
        seen.push(name.to_string());
    }
    for (name, _) in dl::DLFCN_DEFINES {
        assert!(seen.iter().any(|s| s == name), "{name} not in dlfcn.h");
    }
    assert_eq!(dl::Handle::NEXT.0 as i32 as i64, -1);
}
