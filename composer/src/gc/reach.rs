//! What one module's functions reach within the module: the call graph `--gc` walks (see
//! `gc`), read from the module's bytes.

use anyhow::{Context, Result};
use wasmparser::{
    ElementItems, ExternalKind, FunctionBody, Operator, Parser, Payload, TypeRef, VisitOperator,
    VisitSimdOperator,
};

/// One module's functions and what reaches them.
#[derive(Debug, Default)]
pub struct Graph {
    /// Imported functions (they come first in the function index space).
    pub imported: u32,
    /// Per defined function, the functions its body names (`call`, `return_call`,
    /// `ref.func`), by function index.
    pub callees: Vec<Vec<u32>>,
    /// Per defined function, its body's size in bytes (its entry in the code section).
    pub body_size: Vec<u32>,
    /// Functions the module itself keeps alive whatever is exported: the start function,
    /// every function of an element segment (active, passive or declared: they are in the
    /// table, or may be put there) and every `ref.func` of a global's or segment's
    /// initializer.
    pub roots: Vec<u32>,
    /// Function exports: (name, function index).
    pub exports: Vec<(String, u32)>,
    /// Per defined function, where in its body the instructions are that re-encoding may
    /// change (see `synth::rewrite::Edit::reencoded_at`): those of more than two bytes, `call`,
    /// `return_call`, `ref.func`, by offset from the body's start. The re-encoding of the kept
    /// bodies reads only these instead of every instruction again.
    pub reencoded_at: Vec<Vec<u32>>,
    /// The functions some body names with `ref.func`, sorted, once each: the only ones whose
    /// bodies' validity depends on their being declared referenceable (see
    /// `validate::rewritten`).
    pub body_refs: Vec<u32>,
    /// Per defined function, its type index.
    pub types: Vec<u32>,
    /// The start function.
    pub start: Option<u32>,
    /// Per defined function, where its body (locals and instructions, without the size in
    /// front) is in the module's bytes.
    pub bodies: Vec<std::ops::Range<usize>>,
    /// Per defined function, the instructions of its body that name a function, in order.
    pub named: Vec<Vec<Named>>,
}

/// An instruction that names a function (`call`, `return_call`, `ref.func`: a one-byte
/// opcode, then the index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    /// Where the index's LEB128 starts, from the body's start.
    pub at: u32,
    /// Where the instruction ends, from the body's start.
    pub end: u32,
    /// The function.
    pub func: u32,
}

impl Graph {
    /// Reads module `bytes` (`name` for messages; the module is already validated).
    pub fn read(name: &str, bytes: &[u8]) -> Result<Graph> {
        let mut g = Graph::default();
        let ctx = || format!("{name}: reading its functions for --gc");
        let mut bodies = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.with_context(ctx)? {
                Payload::ImportSection(r) => {
                    for imp in r.into_imports() {
                        if matches!(
                            imp.with_context(ctx)?.ty,
                            TypeRef::Func(_) | TypeRef::FuncExact(_)
                        ) {
                            g.imported += 1;
                        }
                    }
                }
                Payload::StartSection { func, .. } => {
                    g.roots.push(func);
                    g.start = Some(func);
                }
                Payload::FunctionSection(r) => {
                    for ty in r {
                        g.types.push(ty.with_context(ctx)?);
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e.with_context(ctx)?;
                        if e.kind == ExternalKind::Func {
                            g.exports.push((e.name.to_string(), e.index));
                        }
                    }
                }
                Payload::GlobalSection(r) => {
                    for glob in r {
                        let init = glob.with_context(ctx)?.init_expr;
                        ref_funcs(init.get_operators_reader(), &mut g.roots).with_context(ctx)?;
                    }
                }
                Payload::ElementSection(r) => {
                    for e in r {
                        match e.with_context(ctx)?.items {
                            ElementItems::Functions(fs) => {
                                for f in fs {
                                    g.roots.push(f.with_context(ctx)?);
                                }
                            }
                            ElementItems::Expressions(_, xs) => {
                                for x in xs {
                                    let x = x.with_context(ctx)?;
                                    ref_funcs(x.get_operators_reader(), &mut g.roots)
                                        .with_context(ctx)?;
                                }
                            }
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    // The size field is part of what removing the body saves.
                    g.body_size.push(body_entry_size(
                        range.end.saturating_sub(range.start) as usize
                    ));
                    g.bodies.push(range.start as usize..range.end as usize);
                    bodies.push(body);
                }
                _ => {}
            }
        }
        for c in callees_in_parallel(&bodies).with_context(ctx)? {
            g.callees.push(c.callees);
            g.body_refs.extend(c.refs);
            g.reencoded_at.push(c.reencoded_at);
            g.named.push(c.named);
        }
        g.body_refs.sort_unstable();
        g.body_refs.dedup();
        Ok(g)
    }

    /// The defined functions reachable from `roots` (function indices; imports are ignored):
    /// per defined function, whether it is live.
    pub fn live(&self, roots: impl IntoIterator<Item = u32>) -> Vec<bool> {
        let mut live = vec![false; self.callees.len()];
        let mut stack: Vec<u32> = roots.into_iter().collect();
        while let Some(f) = stack.pop() {
            let Some(k) = f.checked_sub(self.imported) else {
                continue;
            };
            match live.get_mut(k as usize) {
                Some(l) if !*l => *l = true,
                _ => continue,
            }
            if let Some(callees) = self.callees.get(k as usize) {
                stack.extend(callees.iter().copied());
            }
        }
        live
    }
}

/// Per body, [`callees`], in contiguous runs of about equal size on the available cores.
fn callees_in_parallel(bodies: &[FunctionBody<'_>]) -> Result<Vec<Callees>> {
    let runs = crate::synth::rewrite::body_runs(bodies);
    let of_run = |run: &[FunctionBody<'_>]| run.iter().map(callees).collect::<Result<Vec<_>>>();
    let parts: Vec<Result<Vec<Callees>>> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .skip(1)
            .map(|run| s.spawn(move || of_run(run)))
            .collect();
        let mut parts = vec![of_run(runs[0])];
        for h in handles {
            parts.push(h.join().unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "internal error: a thread reading bodies panicked"
                ))
            }));
        }
        parts
    });
    let mut out = Vec::with_capacity(bodies.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// What one body names.
struct Callees {
    /// Every function (`call`, `return_call`, `ref.func`), sorted, once each.
    callees: Vec<u32>,
    /// The `ref.func`s among them.
    refs: Vec<u32>,
    /// See [`Graph::reencoded_at`].
    reencoded_at: Vec<u32>,
    /// See [`Graph::named`].
    named: Vec<Named>,
}

/// What `body` names (see [`Callees`]).
fn callees(body: &FunctionBody<'_>) -> Result<Callees> {
    let mut names = Names::default();
    let mut at = Vec::new();
    let mut named = Vec::new();
    let base = body.range().start;
    // A body is under 4 GiB (its size is a u32).
    let offset = |p: u64| u32::try_from(p.saturating_sub(base)).unwrap_or(u32::MAX);
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let start = ops.original_position();
        names.named = None;
        ops.visit_operator(&mut names)?;
        let end = ops.original_position();
        if let Some(func) = names.named {
            named.push(Named {
                at: offset(start + 1),
                end: offset(end),
                func,
            });
        }
        if names.named.is_some() || end - start > 2 {
            at.push(offset(start));
        }
    }
    let Names {
        mut callees, refs, ..
    } = names;
    callees.sort_unstable();
    callees.dedup();
    Ok(Callees {
        callees,
        refs,
        reencoded_at: at,
        named,
    })
}

/// The operator visitor of [`callees`]: records the functions instructions name and ignores
/// the rest (cheaper than reading each instruction into an `Operator` to match it).
#[derive(Default)]
struct Names {
    callees: Vec<u32>,
    refs: Vec<u32>,
    /// The function the instruction just visited names.
    named: Option<u32>,
}

impl Names {
    fn call(&mut self, f: u32) {
        self.callees.push(f);
        self.named = Some(f);
    }

    fn ref_func(&mut self, f: u32) {
        self.call(f);
        self.refs.push(f);
    }
}

/// The methods of [`Names`]' `VisitOperator` and `VisitSimdOperator`: `call`, `return_call`
/// and `ref.func` record their function, every other instruction is ignored.
macro_rules! visit_names {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) {
                visit_names!(@body self $visit $($($arg)*)?)
            }
        )*
    };
    (@body $self:ident visit_call $f:ident) => {{ $self.call($f) }};
    (@body $self:ident visit_return_call $f:ident) => {{ $self.call($f) }};
    (@body $self:ident visit_ref_func $f:ident) => {{ $self.ref_func($f) }};
    (@body $self:ident $visit:ident $($arg:ident)*) => {{ $(let _ = $arg;)* }};
}

impl<'a> VisitOperator<'a> for Names {
    type Output = ();

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = ()>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(visit_names);
}

impl<'a> VisitSimdOperator<'a> for Names {
    wasmparser::for_each_visit_simd_operator!(visit_names);
}

/// Every `ref.func` of a constant expression.
fn ref_funcs(mut ops: wasmparser::OperatorsReader<'_>, out: &mut Vec<u32>) -> Result<()> {
    while !ops.eof() {
        if let Operator::RefFunc { function_index } = ops.read()? {
            out.push(function_index);
        }
    }
    Ok(())
}

/// A code section entry's size: its body and the LEB128 size in front of it.
fn body_entry_size(body: usize) -> u32 {
    let mut leb = 1;
    let mut n = body >> 7;
    while n != 0 {
        leb += 1;
        n >>= 7;
    }
    u32::try_from(body + leb).unwrap_or(u32::MAX)
}
