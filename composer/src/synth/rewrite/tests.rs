//! The rewriter keeps what a pass does not change, and moves indices where it does.

use super::{rewrite, Additions, Edit, ImportAt, IndexMap, Maps};
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
