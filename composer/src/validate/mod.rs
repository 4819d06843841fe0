//! Validation with wasmparser, each function body once and on every core.
//!
//! Validating function bodies is most of a large composition's work (on componentize-py's CPython
//! set, 82% of the composer's instructions were wasmparser's, each body validated twice: once in
//! its input, again in the output component). Here:
//!
//! - [`inputs`] validates every input module completely, its bodies spread over all cores
//!   (wasmparser hands them out as `FuncToValidate`s, independent of each other), and keeps
//!   what each body was validated against (the module's [`ValidatorResources`]);
//! - [`component`] validates an output component completely, except the bodies it can prove
//!   valid without looking at them again: a body is skipped only when it is byte for byte the
//!   body of the same function index of a validated input, in a module of the output that is
//!   byte for byte one the composer made from that input, and that module's index spaces answer
//!   every question a body's validation asks at least as permissively as the input's did (see
//!   `compatible`). Everything else, the module structure of every module (types, imports,
//!   segments, constant expressions, exports), the component's instantiations and types, the
//!   synthesized modules, main, the adapters and the provider, and every body that was
//!   rewritten (merged libraries renumber functions; the loader, env and init functions are
//!   new), is validated as [`Validator::validate_all`] would;
//! - [`check_stand_in`] lets a component nested in another be validated on its own (on another
//!   thread, while the outer one is being made) and the outer one with a smaller stand-in of
//!   the same type in its place (the provider is plugged into wit-component's main component,
//!   which has the libraries' component's type; see `encode::plug_provider`): a nested
//!   component is validated on its own anyway, and what its parent's validation asks of it is
//!   only its type.
//!
//! Why that is sound: wasmparser validates a body with [`wasmparser::FuncValidator`], which sees
//! the module only through the `WasmModuleResources` it was created with: the types, the
//! type of each function, tables, memories, globals, tags, element segments, the data count and
//! which functions are declared referenceable. A body's validity is a function of its bytes and
//! of those answers, and the answers `compatible` accepts for the output differ from the
//! input's only where every body valid under the input's stays valid: a global that was
//! immutable may have become mutable (a body that was valid never sets it), table and memory
//! limits may differ (no instruction's typing depends on them), the output may have more of
//! everything (types, functions, tables, segments, declared references) at indices the input
//! did not have (a valid body never names them).

mod compat;
mod standin;
mod threads;

use anyhow::{anyhow, bail, Result};
use compat::compatible;
pub use compat::rewritten;
pub use standin::check_stand_in;
pub use threads::Pending;
use threads::{run, Feed};
use wasmparser::{Parser, Payload, ValidPayload, Validator, ValidatorResources, WasmFeatures};

/// An input module that [`inputs`] validated, with what its bodies were validated against.
pub struct ValidatedModule<'a> {
    /// The module's index spaces as its bodies' validation saw them; `None` for a module
    /// without function bodies.
    resources: Option<ValidatorResources>,
    /// The index of the first defined function (the number of imported functions).
    first_defined: u32,
    /// The body of each defined function, in order.
    bodies: Vec<&'a [u8]>,
}

impl std::fmt::Debug for ValidatedModule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatedModule")
            .field("first_defined", &self.first_defined)
            .field("bodies", &self.bodies.len())
            .finish()
    }
}

impl<'a> ValidatedModule<'a> {
    fn body(&self, func: u32) -> Option<&'a [u8]> {
        let k = func.checked_sub(self.first_defined)?;
        self.bodies.get(k as usize).copied()
    }
}

/// The features inputs and outputs are validated with.
fn features() -> WasmFeatures {
    crate::parse::features()
}

/// Validates core modules (`(name, bytes)`): all of each module, the bodies of all of them on all
/// cores. The error names the first input (in the order given) that is invalid.
pub fn inputs<'a>(modules: &[(&str, &'a [u8])]) -> Result<Vec<ValidatedModule<'a>>> {
    std::thread::scope(|scope| {
        let (validated, pending) = inputs_in(scope, modules)?;
        pending.wait()?;
        Ok(validated)
    })
}

/// [`inputs`], returning as soon as the modules' structure is validated: their function bodies
/// are validated by threads of `scope` (all cores but one: the caller's thread goes on
/// composing, the longer path; it validates what is left in [`Pending::wait`]), which start
/// on the first bodies while this reads the rest of the modules. What the caller reads of the
/// modules meanwhile (their sections, imports, exports, `dylink.0`) is validated; bodies it
/// copies or re-encodes are not yet, so it must wait before it accepts anything made from them.
pub fn inputs_in<'scope, 'a: 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    modules: &[(&str, &'a [u8])],
) -> Result<(Vec<ValidatedModule<'a>>, Pending<'scope, 'a>)> {
    let names: Vec<String> = modules.iter().map(|(n, _)| n.to_string()).collect();
    let total = modules.iter().map(|(_, b)| code_bytes(b)).sum();
    let mut feed = Feed::start(Some(scope), total, names);
    let mut out = Vec::with_capacity(modules.len());
    for (m, (name, bytes)) in modules.iter().enumerate() {
        let mut validator = Validator::new_with_features(features());
        let mut module = ValidatedModule {
            resources: None,
            first_defined: 0,
            bodies: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(bytes) {
            let valid = payload.and_then(|p| validator.payload(&p).map(|v| (p, v)));
            let valid = match valid {
                Ok((_, v)) => v,
                Err(e) => {
                    // An earlier input's invalid body is the first error.
                    feed.finish().wait()?;
                    return Err(invalid(name, e));
                }
            };
            match valid {
                ValidPayload::Func(f, body) => {
                    if module.resources.is_none() {
                        module.first_defined = f.index;
                        module.resources = Some(f.resources.clone());
                    }
                    module.bodies.push(body.as_bytes());
                    feed.push(m, (f, body));
                }
                ValidPayload::End(_) => break,
                _ => {}
            }
        }
        out.push(module);
    }
    Ok((out, feed.finish()))
}

/// The size of `module`'s code section, read from the section headers alone (how the bodies
/// are split among threads; 0 where the headers do not read, which validation reports).
fn code_bytes(module: &[u8]) -> usize {
    const CODE_SECTION: u8 = wasm_encoder::SectionId::Code as u8;
    crate::parse::section_headers(module)
        .and_then(|s| s.into_iter().find(|s| s.id == CODE_SECTION))
        .map_or(0, |s| s.contents.len())
}

fn invalid(name: &str, e: wasmparser::BinaryReaderError) -> anyhow::Error {
    let hint = if e.message().contains("legacy_exceptions") {
        " (it uses the legacy exception-handling encoding, `try`/`catch`, which LLVM emits by \
         default and wasmtime does not run: rebuild it with LLVM 20 or later and \
         `-mllvm -wasm-use-legacy-eh=false`)"
    } else {
        ""
    };
    anyhow!("{name}: invalid WebAssembly module: {e}{hint}")
}

/// A core module of an output component that the composer made from a validated input, keeping
/// (some of) its function bodies byte for byte at their function indices.
#[derive(Clone, Copy)]
pub struct Copied<'a> {
    /// The module's bytes, exactly as they appear in the component.
    pub module: &'a [u8],
    /// The input it was made from.
    pub input: &'a ValidatedModule<'a>,
}

/// Validates a component completely, except the function bodies of [`Copied`] modules that are
/// provably unchanged (see the module docs); the rest of the bodies on all cores. `what` names
/// the component in the error, which is an internal error: the inputs were validated.
pub fn component(
    bytes: &[u8],
    what: &str,
    copies: &[Copied<'_>],
) -> Result<wasmparser::types::Types> {
    component_inner(bytes, what, copies, Bodies::All).map(|(t, _)| t)
}

/// Validates a component holding `stand_in`, a stand-in for a component validated on its own
/// (see [`check_stand_in`]), completely except the function bodies in `stand_in`, which are
/// not part of the result: the stand-in's type is what matters, and it comes from its
/// structure. `what` names the component in the error.
pub fn with_stand_in(bytes: &[u8], what: &str, stand_in: &[u8]) -> Result<()> {
    component_inner(bytes, what, &[], Bodies::ExceptIn(stand_in)).map(drop)
}

/// Which function bodies a component's validation validates.
#[derive(Clone, Copy)]
enum Bodies<'a> {
    /// All but the proven copies.
    All,
    /// None (only the structure).
    None,
    /// All but those in the nested component with these bytes.
    ExceptIn(&'a [u8]),
}

/// Validates everything of a component but its function bodies: only for a component that is
/// validated again, bodies and all, as part of the final component (the caller needs its
/// [`wasmparser::types::Types`], not its validity).
pub fn component_structure(bytes: &[u8], what: &str) -> Result<wasmparser::types::Types> {
    component_inner(bytes, what, &[], Bodies::None).map(|(t, _)| t)
}

fn component_inner(
    bytes: &[u8],
    what: &str,
    copies: &[Copied<'_>],
    bodies: Bodies<'_>,
) -> Result<(wasmparser::types::Types, usize)> {
    let err = |e: wasmparser::BinaryReaderError| {
        anyhow!("internal error: the {what} does not validate: {e}")
    };
    let mut validator = Validator::new_with_features(WasmFeatures::default());
    let mut jobs = Vec::new();
    let mut types = None;
    let mut skipped = 0;
    // Per module or component being read, innermost last: which copy it is, if any.
    let mut open: Vec<Option<usize>> = Vec::new();
    // Per copy, whether the output module's index spaces are compatible (decided at its first
    // body, whose resources describe the module).
    let mut compat: Vec<Option<bool>> = vec![None; copies.len()];
    // While in the stand-in (`Bodies::ExceptIn`): the depth of `open` outside it.
    let mut in_stand_in: Option<usize> = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(err)?;
        let opens = match &payload {
            Payload::Version { .. } if open.is_empty() => Some(None),
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                let module =
                    bytes.get(unchecked_range.start as usize..unchecked_range.end as usize);
                Some(copies.iter().position(|c| Some(c.module) == module))
            }
            Payload::ComponentSection {
                unchecked_range, ..
            } => {
                let component =
                    bytes.get(unchecked_range.start as usize..unchecked_range.end as usize);
                if let (Bodies::ExceptIn(s), None) = (bodies, in_stand_in) {
                    if component == Some(s) {
                        in_stand_in = Some(open.len());
                    }
                }
                Some(None)
            }
            _ => None,
        };
        let is_end = matches!(payload, Payload::End(_));
        match validator.payload(&payload).map_err(err)? {
            ValidPayload::Func(f, body) => {
                let skip = match open.last() {
                    Some(Some(k)) => {
                        let input = copies[*k].input;
                        let ok = *compat[*k].get_or_insert_with(|| {
                            input
                                .resources
                                .as_ref()
                                .is_some_and(|r| compatible(r, &f.resources))
                        });
                        ok && input.body(f.index) == Some(body.as_bytes())
                    }
                    _ => false,
                };
                if skip {
                    skipped += 1;
                } else if !matches!(bodies, Bodies::None) && in_stand_in.is_none() {
                    jobs.push((f, body));
                }
            }
            ValidPayload::End(t) => types = Some(t),
            _ => {}
        }
        if let Some(o) = opens {
            open.push(o);
        }
        if is_end {
            open.pop();
            if in_stand_in == Some(open.len()) {
                in_stand_in = None;
            }
        }
    }
    run(jobs).map_err(|(_, e)| err(e))?;
    match types {
        Some(t) => Ok((t, skipped)),
        None => bail!("internal error: the {what} ends early"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component holding `module` once.
    pub(super) fn wrap(module: &[u8]) -> Vec<u8> {
        let mut c = wasm_encoder::Component::new();
        c.section(&wasm_encoder::RawSection {
            id: wasm_encoder::ComponentSectionId::CoreModule as u8,
            data: module,
        });
        c.finish()
    }

    fn skipped(input: &str, output: &str) -> usize {
        let input = wat::parse_str(input).unwrap();
        let output = wat::parse_str(output).unwrap();
        let validated = inputs(&[("in", &input)]).unwrap();
        let copies = [Copied {
            module: &output,
            input: &validated[0],
        }];
        component_inner(&wrap(&output), "test", &copies, Bodies::All)
            .unwrap()
            .1
    }

    const LIB: &str = r#"(module
        (import "env" "g" (global $g i32))
        (import "env" "f" (func $f (param i32)))
        (global $h (mut i32) (i32.const 0))
        (func $a (param i32) (result i32) local.get 0 global.get $g i32.add)
        (func $b (call $f (i32.const 1)) (global.set $h (i32.const 2))))"#;

    #[test]
    fn unchanged_bodies_are_skipped() {
        assert_eq!(skipped(LIB, LIB), 2);
    }

    #[test]
    fn more_permissive_context_still_skips() {
        // The immutable import became mutable, a function and a global were added after.
        let out = r#"(module
            (import "env" "g" (global $g (mut i32)))
            (import "env" "f" (func $f (param i32)))
            (global $h (mut i32) (i32.const 0))
            (global $k i32 (i32.const 0))
            (func $a (param i32) (result i32) local.get 0 global.get $g i32.add)
            (func $b (call $f (i32.const 1)) (global.set $h (i32.const 2)))
            (func $new))"#;
        assert_eq!(skipped(LIB, out), 2);
    }

    #[test]
    fn changed_context_or_bodies_are_validated() {
        // A function type changed: nothing is skipped (the module is not compatible).
        let types = LIB.replace("(func $f (param i32))", "(func $f (param i64))");
        let types = types.replace("(i32.const 1)", "(i64.const 1)");
        assert_eq!(skipped(LIB, &types), 0);
        // A mutable global became immutable (a body may set it): not compatible.
        let out = r#"(module
            (import "env" "g" (global $g i32))
            (import "env" "f" (func $f (param i32)))
            (global $h i32 (i32.const 0))
            (func $a (param i32) (result i32) local.get 0 global.get $g i32.add)
            (func $b (call $f (i32.const 1)) (drop (global.get $h))))"#;
        assert_eq!(skipped(LIB, out), 0);
        // One body rewritten: the other is still skipped.
        let one = LIB.replace("i32.add", "i32.sub");
        assert_eq!(skipped(LIB, &one), 1);
    }

    #[test]
    fn an_invalid_copy_is_an_error() {
        // A body that is not valid in the output's context is reported, not skipped.
        let out = LIB.replace("(global $h (mut i32)", "(global $h i32");
        let input = wat::parse_str(LIB).unwrap();
        let output = wat::parse_str(&out).unwrap();
        let validated = inputs(&[("in", &input)]).unwrap();
        let copies = [Copied {
            module: &output,
            input: &validated[0],
        }];
        let Err(e) = component(&wrap(&output), "test", &copies) else {
            panic!("an invalid body was not reported")
        };
        assert!(format!("{e}").contains("does not validate"), "{e}");
    }

    #[test]
    fn stand_in_bodies_are_not_validated() {
        // A nested component whose body is invalid: only the stand-in's are skipped.
        let bad = wat::parse_str("(module (func (result i32) nop))").unwrap();
        let nested = wrap(&bad);
        let mut outer = wasm_encoder::Component::new();
        outer.section(&wasm_encoder::RawSection {
            id: wasm_encoder::ComponentSectionId::Component as u8,
            data: &nested,
        });
        let outer = outer.finish();
        with_stand_in(&outer, "test", &nested).unwrap();
        assert!(with_stand_in(&outer, "test", &wrap(&[])).is_err());
        assert!(component(&outer, "test", &[]).is_err());
    }

    #[test]
    fn first_invalid_input_is_named() {
        let good = wat::parse_str(LIB).unwrap();
        // A body that leaves nothing for its result.
        let bad = wat::parse_str("(module (func (result i32) nop))").unwrap();
        let e = inputs(&[("good.so", &good), ("bad.so", &bad)]).unwrap_err();
        assert!(
            format!("{e}").starts_with("bad.so: invalid WebAssembly module"),
            "{e}"
        );
    }
}
