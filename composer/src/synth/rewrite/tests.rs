//! The rewriter keeps what a pass does not change, and moves indices where it does.

use super::{rewrite, Additions, Edit, ImportAt, IndexMap, Maps, REMOVED};
use wasm_encoder::{EntityType, Function, ImportSection};
use wasmparser::{KnownCustom, Name, Parser, Payload};

/// Removes the function import `env.gone` (index 1), which becomes the last function.
struct RemoveGone;

impl Edit for RemoveGone {
    fn import(
        &mut self,
        _: ImportAt,
        imp: &wasmparser::Import<'_>,
        ty: EntityType,
        out: &mut ImportSection,
    ) -> anyhow::Result<()> {
        if imp.name != "gone" {
            out.import(imp.module, imp.name, ty);
        }
        Ok(())
    }
}

const INPUT: &str = r#"(module
  (type $t (func (param externref) (result i32)))
  (import "env" "kept" (func $kept (type $t)))
  (import "env" "gone" (func $gone (type $t)))
  (tag $e (param i32))
  (table 2 externref)
  (func $f (type $t) (local.get 0) (call $gone))
  (func $g (type $t) (local.get 0) (call $kept) (throw $e))
  (@custom "producers-like" "kept as it is")
)"#;

struct Out {
    bytes: Vec<u8>,
    customs: Vec<(String, Vec<u8>)>,
    names: Vec<(u32, String)>,
    /// (offset in the code section, size) of each body.
    bodies: Vec<(u64, usize)>,
}

fn read(bytes: &[u8]) -> Out {
    let mut out = Out {
        bytes: bytes.to_vec(),
        customs: Vec::new(),
        names: Vec::new(),
        bodies: Vec::new(),
    };
    let mut code_start = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            Payload::CodeSectionStart { range, .. } => code_start = range.start,
            Payload::CodeSectionEntry(b) => out
                .bodies
                .push((b.range().start - code_start, b.as_bytes().len())),
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(r) = c.as_known() {
                    for sub in r {
                        if let Name::Function(map) = sub.unwrap() {
                            for n in map {
                                let n = n.unwrap();
                                out.names.push((n.index, n.name.to_string()));
                            }
                        }
                    }
                }
                out.customs.push((c.name().to_string(), c.data().to_vec()));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn keeps_types_tags_customs_and_body_offsets_while_renumbering() {
    let input = wat::parse_str(INPUT).unwrap();
    // kept 0 -> 0; gone 1 -> 3 (after f and g, which move down); f 2 -> 1; g 3 -> 2.
    let maps = Maps {
        funcs: IndexMap::Table(vec![0, 3, 1, 2]),
        ..Maps::default()
    };
    let mut add = Additions::default();
    // The definition that replaces `gone`: returns 7.
    let mut f = Function::new([]);
    f.instructions().i32_const(7).end();
    add.funcs.push((0, f));
    let out = read(&rewrite(&input, &maps, add, &mut RemoveGone).unwrap());
    let inp = read(&input);
    wasmparser::Validator::new()
        .validate_all(&out.bytes)
        .unwrap();

    let text = wasmprinter::print_bytes(&out.bytes).unwrap();
    assert!(text.contains("(param externref)"), "{text}");
    assert!(text.contains("2 externref)"), "{text}");
    assert!(text.contains("(tag "), "{text}");
    assert!(!text.contains("\"gone\""), "{text}");
    // f now calls the definition that replaced `gone` (index 3, named by the renumbered name
    // section); g still calls `kept`.
    assert!(text.contains("(func $gone (;3;)"), "{text}");
    assert!(text.contains("call $gone"), "{text}");
    assert!(text.contains("call $kept"), "{text}");
    // Every input body is where it was, with its size (wat pads no index, but these fit).
    assert_eq!(&out.bodies[..2], &inp.bodies[..]);
    assert!(out
        .customs
        .iter()
        .any(|(n, d)| n == "producers-like" && d == b"kept as it is"));
    // The name section follows the renumbering, in index order.
    assert_eq!(
        out.names,
        [(0, "kept"), (1, "f"), (2, "g"), (3, "gone")]
            .map(|(i, n)| (i, n.to_string()))
            .to_vec()
    );
}

#[test]
fn an_index_that_outgrows_its_encoding_re_encodes_and_drops_dwarf() {
    // 200 imports: moving `gone` (index 0) to the end gives it index 201, which needs two bytes
    // where `call 0` has one.
    let mut wat = String::from("(module (type $v (func)) (import \"env\" \"gone\" (func $gone))");
    for i in 0..200 {
        wat.push_str(&format!("(import \"env\" \"k{i}\" (func))"));
    }
    wat.push_str("(func $f call $gone) (@custom \".debug_info\" \"stale\"))");
    let input = wat::parse_str(&wat).unwrap();
    let mut map: Vec<u32> = (0..202).map(|i: u32| i.saturating_sub(1)).collect();
    map[0] = 201;
    let maps = Maps {
        funcs: IndexMap::Table(map),
        ..Maps::default()
    };
    let mut add = Additions::default();
    let mut f = Function::new([]);
    f.instructions().end();
    add.funcs.push((0, f));
    let out = read(&rewrite(&input, &maps, add, &mut RemoveGone).unwrap());
    wasmparser::Validator::new()
        .validate_all(&out.bytes)
        .unwrap();
    let text = wasmprinter::print_bytes(&out.bytes).unwrap();
    assert!(
        text.contains("call 201") || text.contains("call $gone"),
        "{text}"
    );
    assert!(!out.customs.iter().any(|(n, _)| n == ".debug_info"));
}

/// Keeps everything (the `--gc` pass's removals are all in its maps).
struct KeepAll;

impl Edit for KeepAll {}

#[test]
fn removed_functions_lose_body_exports_and_names_and_the_rest_moves_down() {
    let input = wat::parse_str(
        r#"(module
          (import "env" "imp" (func $imp (result i32)))
          (func $dead (export "dead") (result i32) (call $imp))
          (func $live (export "live") (result i32) (call $also_live))
          (func $also_live (result i32) (i32.const 5))
          (@custom ".debug_info" "offsets of the old code")
        )"#,
    )
    .unwrap();
    // imp 0 -> 0; dead 1 -> removed; live 2 -> 1; also_live 3 -> 2.
    let maps = Maps {
        funcs: IndexMap::Table(vec![0, REMOVED, 1, 2]),
        ..Maps::default()
    };
    let out = read(&rewrite(&input, &maps, Additions::default(), &mut KeepAll).unwrap());
    wasmparser::Validator::new()
        .validate_all(&out.bytes)
        .unwrap();
    let text = wasmprinter::print_bytes(&out.bytes).unwrap();
    assert!(!text.contains("\"dead\""), "{text}");
    assert!(text.contains("(export \"live\" (func $live))"), "{text}");
    assert!(text.contains("call $also_live"), "{text}");
    assert_eq!(out.bodies.len(), 2);
    assert_eq!(
        out.names,
        [(0, "imp"), (1, "live"), (2, "also_live")]
            .map(|(i, n)| (i, n.to_string()))
            .to_vec()
    );
    // The bodies moved: DWARF's code offsets would be wrong.
    assert!(!out.customs.iter().any(|(n, _)| n == ".debug_info"));

    // A removed function still called is an error, not a dangling index.
    let maps = Maps {
        funcs: IndexMap::Table(vec![0, 1, 2, REMOVED]),
        ..Maps::default()
    };
    let err = rewrite(&input, &maps, Additions::default(), &mut KeepAll).unwrap_err();
    assert!(
        format!("{err:#}").contains("removed but still used"),
        "{err:#}"
    );
}

/// Asks for the shortest encoding (the `--gc` size mode).
struct Compact;

impl Edit for Compact {
    fn compact_code(&self) -> bool {
        true
    }
}

#[test]
fn compact_code_shortens_padded_immediates_and_drops_code_metadata() {
    use wasm_encoder::{
        CodeSection, CustomSection, FunctionSection, Module, NameMap, NameSection, TypeSection,
    };
    // As wasm-ld writes relocated immediates: padded to 5 bytes.
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], [wasm_encoder::ValType::I32]);
    types.ty().function([], []);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    funcs.function(0).function(1);
    module.section(&funcs);
    module.section(&CustomSection {
        name: "metadata.code.branch_hint".into(),
        data: [0u8][..].into(),
    });
    let mut code = CodeSection::new();
    let mut f = Function::new([]);
    f.raw([0x41, 0x87, 0x80, 0x80, 0x80, 0x00, 0x0b]); // i32.const 7
    code.function(&f);
    let mut g = Function::new([]);
    g.raw([0x10, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b]); // call 0, drop
    code.function(&g);
    module.section(&code);
    let mut names = NameMap::new();
    names.append(0, "seven");
    names.append(1, "caller");
    let mut section = NameSection::new();
    section.functions(&names);
    module.section(&section);
    let input = module.finish();
    wasmparser::Validator::new().validate_all(&input).unwrap();

    let out = read(&rewrite(&input, &Maps::default(), Additions::default(), &mut Compact).unwrap());
    wasmparser::Validator::new()
        .validate_all(&out.bytes)
        .unwrap();
    // Each body: its locals (1 byte), the instruction with a one-byte immediate, `end`.
    assert_eq!(
        out.bodies.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [4, 5]
    );
    let text = wasmprinter::print_bytes(&out.bytes).unwrap();
    assert!(
        text.contains("i32.const 7") && text.contains("call $seven"),
        "{text}"
    );
    assert_eq!(
        out.names,
        [(0, "seven"), (1, "caller")]
            .map(|(i, n)| (i, n.to_string()))
            .to_vec()
    );
    // Branch hints address instructions by their offset in the body, which moved.
    assert!(!out
        .customs
        .iter()
        .any(|(n, _)| n.starts_with("metadata.code.")));
    // Without the mode, the bodies are copied as they are, hints and all.
    let kept =
        read(&rewrite(&input, &Maps::default(), Additions::default(), &mut KeepAll).unwrap());
    assert_eq!(
        kept.bodies.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [8, 9]
    );
    assert!(kept
        .customs
        .iter()
        .any(|(n, _)| n == "metadata.code.branch_hint"));
}

/// Empties the body of function 1.
struct Empty1 {
    keep_offsets: bool,
}

impl Edit for Empty1 {
    fn emptied_body(&self) -> Option<super::EmptiedBody> {
        Some(super::EmptiedBody {
            func: 1,
            keep_offsets: self.keep_offsets,
        })
    }
}

#[test]
fn an_emptied_body_shrinks_or_keeps_every_offset_for_dwarf() {
    let input = wat::parse_str(
        r#"(module
            (import "env" "f" (func))
            (global $g (mut i32) (i32.const 0))
            (func $relocs (local i32) i32.const 1 global.set $g i32.const 2 global.set $g)
            (func $after (result i32) global.get $g)
            (@custom ".debug_info" "addresses code by offset"))"#,
    )
    .unwrap();
    let inp = read(&input);
    for keep_offsets in [true, false] {
        let bytes = rewrite(
            &input,
            &Maps::default(),
            Additions::default(),
            &mut Empty1 { keep_offsets },
        )
        .unwrap();
        wasmparser::Validator::new().validate_all(&bytes).unwrap();
        let out = read(&bytes);
        let text = wasmprinter::print_bytes(&bytes).unwrap();
        assert!(!text.contains("i32.const 2"), "{text}");
        assert!(text.contains("global.get $g"), "{text}");
        let dwarf = out.customs.iter().any(|(n, _)| n == ".debug_info");
        if keep_offsets {
            // `nop`s to the old size: the later body is where it was, DWARF stays.
            assert_eq!(out.bodies, inp.bodies);
            assert!(text.contains("nop"), "{text}");
            assert!(dwarf);
        } else {
            assert_eq!(out.bodies[0].1, 2);
            assert!(out.bodies[1].0 < inp.bodies[1].0);
            assert!(!dwarf);
        }
    }
}
