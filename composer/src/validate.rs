//! Validation with wasmparser, each function body once and on every core.
//!
//! Validating function bodies is most of a large composition's work (on componentize-py's CPython
//! set, 82% of the composer's instructions were wasmparser's, each body validated twice: once in
//! its input, again in the output component). Here:
//!
//! - [`inputs`] validates every input module completely, its bodies spread over all cores
//!   (wasmparser hands them out as [`FuncToValidate`]s, independent of each other), and keeps
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
//!   new), is validated as [`Validator::validate_all`] would.
//!
//! Why that is sound: wasmparser validates a body with [`wasmparser::FuncValidator`], which sees
//! the module only through the [`WasmModuleResources`] it was created with: the types, the
//! type of each function, tables, memories, globals, tags, element segments, the data count and
//! which functions are declared referenceable. A body's validity is a function of its bytes and
//! of those answers, and the answers `compatible` accepts for the output differ from the
//! input's only where every body valid under the input's stays valid: a global that was
//! immutable may have become mutable (a body that was valid never sets it), table and memory
//! limits may differ (no instruction's typing depends on them), the output may have more of
//! everything (types, functions, tables, segments, declared references) at indices the input
//! did not have (a valid body never names them).

use anyhow::{anyhow, bail, Result};
use std::sync::{Arc, Mutex};
use wasmparser::{
    CompositeInnerType, FuncToValidate, FuncValidatorAllocations, FunctionBody, Parser, Payload,
    RefType, SubType, ValType, ValidPayload, Validator, ValidatorResources, WasmFeatures,
    WasmModuleResources,
};

/// One body to validate: what wasmparser's module validation handed out for it.
type Job<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

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
/// are validated by threads of `scope` (all cores: the caller's thread goes on composing, and
/// the cores are shared between the two) until [`Pending::wait`]. What the caller reads of the
/// modules meanwhile (their sections, imports, exports, `dylink.0`) is validated; bodies it
/// copies or re-encodes are not yet, so it must wait before it accepts anything made from them.
pub fn inputs_in<'scope, 'a: 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    modules: &[(&str, &'a [u8])],
) -> Result<(Vec<ValidatedModule<'a>>, Pending<'scope, 'a>)> {
    let mut jobs: Vec<Job<'a>> = Vec::new();
    let mut owners: Vec<usize> = Vec::new();
    let names: Vec<String> = modules.iter().map(|(n, _)| n.to_string()).collect();
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
                    let earlier = Pending::start(None, jobs, owners, names);
                    earlier.wait()?;
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
                    jobs.push((f, body));
                    owners.push(m);
                }
                ValidPayload::End(_) => break,
                _ => {}
            }
        }
        out.push(module);
    }
    Ok((out, Pending::start(Some(scope), jobs, owners, names)))
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
    component_inner(bytes, what, copies, true).map(|(t, _)| t)
}

/// Validates everything of a component but its function bodies: only for a component that is
/// validated again, bodies and all, as part of the final component (the caller needs its
/// [`wasmparser::types::Types`], not its validity).
pub fn component_structure(bytes: &[u8], what: &str) -> Result<wasmparser::types::Types> {
    component_inner(bytes, what, &[], false).map(|(t, _)| t)
}

fn component_inner(
    bytes: &[u8],
    what: &str,
    copies: &[Copied<'_>],
    validate_bodies: bool,
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
            Payload::ComponentSection { .. } => Some(None),
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
                } else if validate_bodies {
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
        }
    }
    run(jobs).map_err(|(_, e)| err(e))?;
    match types {
        Some(t) => Ok((t, skipped)),
        None => bail!("internal error: the {what} ends early"),
    }
}

/// Whether every function body valid against `input` is valid against `output` (see the module
/// docs): the same answer to every question body validation asks about an index `input` has,
/// or a more permissive one. Only types without GC features are compared (wasm-ld emits no
/// others); anything else is "not compatible", and the bodies are validated again.
fn compatible(input: &ValidatorResources, output: &ValidatorResources) -> bool {
    let plain_val = |v: &ValType| match v {
        ValType::Ref(r) => !r.is_concrete_type_ref(),
        _ => true,
    };
    let plain_ref = |r: &RefType| !r.is_concrete_type_ref();
    let plain = |t: &SubType| {
        t.is_final
            && t.supertype_idx.is_none()
            && !t.composite_type.shared
            && t.composite_type.descriptor_idx.is_none()
            && t.composite_type.describes_idx.is_none()
            && matches!(&t.composite_type.inner, CompositeInnerType::Func(f)
                if f.params().iter().chain(f.results()).all(plain_val))
    };
    // Types: equal, index by index.
    let mut i = 0u32;
    while let Some(a) = input.sub_type_at(i) {
        match output.sub_type_at(i) {
            Some(b) if plain(a) && a == b => {}
            _ => return false,
        }
        i += 1;
    }
    // Functions: the same type index (so the same type), the same exactness, and declared
    // referenceable wherever the input declared them.
    let mut f = 0u32;
    while let Some(a) = input.type_index_of_function(f) {
        if output.type_index_of_function(f) != Some(a)
            || input.has_function_exact_type(f) != output.has_function_exact_type(f)
            || (input.is_function_referenced(f) && !output.is_function_referenced(f))
        {
            return false;
        }
        f += 1;
    }
    // Tables: element type and index type (limits do not type instructions).
    let mut t = 0u32;
    while let Some(a) = input.table_at(t) {
        match output.table_at(t) {
            Some(b)
                if plain_ref(&a.element_type)
                    && a.element_type == b.element_type
                    && a.table64 == b.table64
                    && a.shared == b.shared => {}
            _ => return false,
        }
        t += 1;
    }
    // Memories: index type, sharing, page size (not limits).
    let mut m = 0u32;
    while let Some(a) = input.memory_at(m) {
        match output.memory_at(m) {
            Some(b)
                if a.memory64 == b.memory64
                    && a.shared == b.shared
                    && a.page_size_log2 == b.page_size_log2 => {}
            _ => return false,
        }
        m += 1;
    }
    // Globals: the same value type; mutable wherever the input's was (an immutable one may
    // have become mutable: a valid body never set it).
    let mut g = 0u32;
    while let Some(a) = input.global_at(g) {
        match output.global_at(g) {
            Some(b)
                if plain_val(&a.content_type)
                    && a.content_type == b.content_type
                    && a.shared == b.shared
                    && (!a.mutable || b.mutable) => {}
            _ => return false,
        }
        g += 1;
    }
    // Tags: the same function type.
    let mut k = 0u32;
    while let Some(a) = input.tag_at(k) {
        match output.tag_at(k) {
            Some(b) if a.params().iter().chain(a.results()).all(plain_val) && a == b => {}
            _ => return false,
        }
        k += 1;
    }
    // Element segments: the same types, at least as many.
    if output.element_count() < input.element_count() {
        return false;
    }
    for e in 0..input.element_count() {
        match (input.element_type_at(e), output.element_type_at(e)) {
            (Some(a), Some(b)) if plain_ref(&a) && a == b => {}
            _ => return false,
        }
    }
    // Data count: a body may use `memory.init`/`data.drop` only with one, below it.
    match (input.data_count(), output.data_count()) {
        (None, _) => true,
        (Some(a), Some(b)) => b >= a,
        (Some(_), None) => false,
    }
}

type BodyError = (usize, wasmparser::BinaryReaderError);

/// Threads pay off only for enough code (spawning one costs tens of microseconds).
const MIN_BYTES_PER_THREAD: usize = 256 * 1024;

/// Bodies to validate, in chunks of about equal code size handed out in order to whichever
/// thread is free (the cores are shared, so a static split would wait for the slowest), and the
/// first error found.
struct Work<'a> {
    queue: Mutex<std::vec::IntoIter<Vec<(usize, Job<'a>)>>>,
    first_error: Mutex<Option<BodyError>>,
}

impl<'a> Work<'a> {
    fn new(jobs: Vec<Job<'a>>, threads: usize) -> Self {
        let total: usize = jobs.iter().map(|(_, b)| b.as_bytes().len()).sum();
        let chunk_bytes = (total / (threads * 16)).max(1);
        let mut chunks: Vec<Vec<(usize, Job<'a>)>> = Vec::new();
        let mut current = Vec::new();
        let mut size = 0;
        for (i, job) in jobs.into_iter().enumerate() {
            size += job.1.as_bytes().len();
            current.push((i, job));
            if size >= chunk_bytes {
                chunks.push(std::mem::take(&mut current));
                size = 0;
            }
        }
        chunks.push(current);
        Work {
            queue: Mutex::new(chunks.into_iter()),
            first_error: Mutex::new(None),
        }
    }

    /// Validates chunks until none is left.
    fn work(&self) {
        let mut allocs = FuncValidatorAllocations::default();
        loop {
            let chunk = match self.queue.lock() {
                Ok(mut q) => q.next(),
                Err(_) => None,
            };
            let Some(chunk) = chunk else { break };
            for (i, (f, body)) in chunk {
                let mut v = f.into_validator(allocs);
                let result = v.validate(&body);
                allocs = v.into_allocations();
                if let Err(e) = result {
                    if let Ok(mut first) = self.first_error.lock() {
                        if first.as_ref().is_none_or(|(j, _)| i < *j) {
                            *first = Some((i, e));
                        }
                    }
                    // The rest of this chunk comes after `i`: not the first error.
                    break;
                }
            }
        }
    }

    /// The first invalid body (by index), the one a sequential validation reports.
    fn result(&self) -> Result<(), BodyError> {
        let first = match self.first_error.lock() {
            Ok(mut f) => f.take(),
            Err(p) => p.into_inner().take(),
        };
        match first {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

/// How many threads `jobs` are worth.
fn threads_for(jobs: &[Job<'_>]) -> usize {
    let total: usize = jobs.iter().map(|(_, b)| b.as_bytes().len()).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(total / MIN_BYTES_PER_THREAD).max(1)
}

/// Validates `jobs` on all cores. On failure, the index (in `jobs`) of the first invalid body
/// with its error, the same one a sequential validation reports.
fn run(jobs: Vec<Job<'_>>) -> Result<(), BodyError> {
    let threads = threads_for(&jobs);
    let work = Work::new(jobs, threads);
    if threads == 1 {
        work.work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(|| work.work());
            }
            work.work();
        });
    }
    work.result()
}

/// Input bodies being validated in the background (see [`inputs_in`]); [`Pending::wait`] says
/// whether they are valid.
pub struct Pending<'scope, 'a> {
    work: Arc<Work<'a>>,
    threads: Vec<std::thread::ScopedJoinHandle<'scope, ()>>,
    /// For each body, the name of its input.
    owners: Vec<usize>,
    names: Vec<String>,
}

impl<'scope, 'a: 'scope> Pending<'scope, 'a> {
    /// Starts validating `jobs` (`owners[i]`: the index in `names` of job i's input): in threads
    /// of `scope`, or, without one or for little code, right here.
    fn start(
        scope: Option<&'scope std::thread::Scope<'scope, '_>>,
        jobs: Vec<Job<'a>>,
        owners: Vec<usize>,
        names: Vec<String>,
    ) -> Self {
        let threads = threads_for(&jobs);
        let work = Arc::new(Work::new(jobs, threads));
        let mut handles = Vec::new();
        match scope {
            Some(scope) if threads > 1 => {
                for _ in 0..threads {
                    let work = Arc::clone(&work);
                    handles.push(scope.spawn(move || work.work()));
                }
            }
            _ => work.work(),
        }
        Pending {
            work,
            threads: handles,
            owners,
            names,
        }
    }

    /// Waits for the validation; the error names the input of the first invalid body.
    pub fn wait(self) -> Result<()> {
        for t in self.threads {
            if t.join().is_err() {
                bail!("internal error: a validation thread panicked");
            }
        }
        if let Err((i, e)) = self.work.result() {
            let name = self
                .owners
                .get(i)
                .and_then(|m| self.names.get(*m))
                .map_or("an input", String::as_str);
            return Err(invalid(name, e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component holding `module` once.
    fn wrap(module: &[u8]) -> Vec<u8> {
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
        component_inner(&wrap(&output), "test", &copies, true)
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
