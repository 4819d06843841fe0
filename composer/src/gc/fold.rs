//! Identical code folding (`--gc`): the live functions of one library that are the same
//! function, instruction for instruction up to the functions they name (which are the same
//! in turn), become one, as with lld's `--icf`.
//!
//! In ELF only `--icf=safe` is safe for C, since folding two functions whose addresses are
//! taken makes `&f == &g`. In WebAssembly a C function pointer is a table slot, not a function
//! index: folding `g` into `f` keeps each its own slots (the element segment keeps both
//! entries, now naming `f`; `GOT.func` entries and `dlsym` give each exported symbol its own
//! slot, `layout::LibSlot::func`), so pointers compare as before, and a call through any of
//! them runs the same instructions as before. What a program can see change is only what a
//! backtrace names: `g`'s frames are `f`'s.
//!
//! Classes are found as lld finds them: functions start in one class when their types and
//! their bytes other than the function indices are equal, and a class is split until each of
//! its functions names, instruction by instruction, functions of one class. That is the
//! coarsest such partition, so mutually recursive copies fold too.

use super::reach::{Graph, Named};
use hashbrown::HashMap;
use std::hash::BuildHasher;

/// Per defined function of `graph` (read from module `bytes`), the defined function it folds
/// into (defined-function indices, the lowest of its class), if any. Only `live` functions
/// fold, and none of those `keep(f)` says must keep their own definition (by function index).
pub fn fold(
    graph: &Graph,
    bytes: &[u8],
    live: &[bool],
    keep: impl Fn(u32) -> bool,
) -> Vec<Option<u32>> {
    let n = graph.named.len();
    let mut into = vec![None; n];
    // Pass 1: by type and bytes. Bodies are hashed where they lie; only those whose hashes
    // agree are compared.
    let hasher = hashbrown::DefaultHashBuilder::default();
    let mut buckets: HashMap<(u32, u64), Vec<usize>> = HashMap::new();
    let mut class = vec![NONE; n];
    let mut classes = 0u32;
    for k in 0..n {
        let f = graph.imported.saturating_add(k as u32);
        if !live.get(k).copied().unwrap_or(false) || keep(f) {
            continue;
        }
        let (Some(ty), Some(shape)) = (graph.types.get(k), Shape::of(graph, bytes, k)) else {
            continue;
        };
        let heads = buckets.entry((*ty, hasher.hash_one(&shape))).or_default();
        let same = heads
            .iter()
            .find(|j| Shape::of(graph, bytes, **j).is_some_and(|s| s == shape));
        match same {
            Some(j) => class[k] = class[*j],
            None => {
                heads.push(k);
                class[k] = classes;
                classes += 1;
            }
        }
    }
    drop(buckets);
    // Only classes of two or more can fold; the rest name functions by their own identity.
    let mut size = HashMap::<u32, u32>::new();
    for c in class.iter().filter(|c| **c != NONE) {
        *size.entry(*c).or_default() += 1;
    }
    let mut members: Vec<usize> = (0..n)
        .filter(|k| class[*k] != NONE && size.get(&class[*k]).is_some_and(|s| *s > 1))
        .collect();
    for c in class.iter_mut() {
        if *c != NONE && size.get(c).is_none_or(|s| *s < 2) {
            *c = NONE;
        }
    }
    // Pass 2: split until stable. A split only refines (the key holds the class before), so
    // the number of classes grows until it stops; a partition that did not grow is stable.
    let split = |class: &[u32], of: &dyn Fn(u32) -> u64| -> (Vec<u32>, usize) {
        let mut ids: HashMap<(u32, Vec<u64>), u32> = HashMap::new();
        let next = members
            .iter()
            .map(|k| {
                let targets = graph.named[*k].iter().map(|m| of(m.func)).collect();
                let len = ids.len() as u32;
                *ids.entry((class[*k], targets)).or_insert(len)
            })
            .collect();
        (next, ids.len())
    };
    let first = class.clone();
    let mut count = size.values().filter(|s| **s > 1).count();
    for round in 0.. {
        let (next, stable) = if round < MAX_ROUNDS {
            let of = |func: u32| -> u64 {
                match func
                    .checked_sub(graph.imported)
                    .and_then(|k| class.get(k as usize))
                {
                    Some(c) if *c != NONE => u64::from(*c),
                    _ => (1 << 32) | u64::from(func),
                }
            };
            let (next, n) = split(&class, &of);
            let stable = n == count;
            count = n;
            (next, stable)
        } else {
            // Each round may split off a single function (a chain of copies, each calling the
            // next, splits from its end), so a hostile input could take a round per function:
            // past the bound, only copies naming the very same functions fold, which needs
            // no refinement.
            (split(&first, &|func| u64::from(func)).0, true)
        };
        for (k, c) in members.iter().zip(next) {
            class[*k] = c;
        }
        if stable {
            break;
        }
    }
    // The lowest function of each class keeps its definition; members are in index order.
    let mut rep: HashMap<u32, u32> = HashMap::new();
    members.retain(|k| class[*k] != NONE);
    for k in members {
        let r = *rep.entry(class[k]).or_insert(k as u32);
        if r != k as u32 {
            into[k] = Some(r);
        }
    }
    into
}

/// No class.
const NONE: u32 = u32::MAX;

/// Refinement rounds before [`fold`] falls back to folding only copies that name the same
/// functions (real libraries settle in a few: libpython and libc in 3).
const MAX_ROUNDS: usize = 64;

/// A body without the function indices its instructions name: the bytes between them. Two
/// bodies of equal shapes decode to the same instructions but for those indices.
struct Shape<'a> {
    body: &'a [u8],
    named: &'a [Named],
}

impl<'a> Shape<'a> {
    /// Defined function `k`'s shape; `None` if its instructions do not fit its body.
    fn of(graph: &'a Graph, bytes: &'a [u8], k: usize) -> Option<Shape<'a>> {
        let body = bytes.get(graph.bodies.get(k)?.clone())?;
        let named = graph.named.get(k)?;
        let mut from = 0;
        for m in named {
            if m.at < from || m.end < m.at || m.end as usize > body.len() {
                return None;
            }
            from = m.end;
        }
        Some(Shape { body, named })
    }

    /// The bytes between the function indices, in order, each with its length (so that
    /// where an index was cut out is part of the shape).
    fn pieces(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let ends = self.named.iter().map(|m| (m.at, m.end));
        let mut from = 0usize;
        ends.map(Some).chain([None]).map(move |cut| {
            let (to, next) = match cut {
                Some((at, end)) => (at as usize, end as usize),
                None => (self.body.len(), self.body.len()),
            };
            let piece = self.body.get(from..to).unwrap_or(&[]);
            from = next;
            piece
        })
    }
}

impl PartialEq for Shape<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.named.len() == other.named.len() && self.pieces().eq(other.pieces())
    }
}

impl std::hash::Hash for Shape<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for piece in self.pieces() {
            h.write_usize(piece.len());
            h.write(piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folding of the module `wat` (all functions live, none kept).
    fn folded(wat: &str) -> Vec<Option<u32>> {
        let bytes = wat::parse_str(wat).unwrap();
        let graph = Graph::read("test", &bytes).unwrap();
        let live = vec![true; graph.named.len()];
        fold(&graph, &bytes, &live, |_| false)
    }

    #[test]
    fn same_bodies_fold_into_the_first() {
        let wat = r#"(module
            (func (result i32) i32.const 7)
            (func (result i32) i32.const 8)
            (func (result i32) i32.const 7)
            (func (result i64) i64.const 7))"#;
        assert_eq!(folded(wat), [None, None, Some(0), None]);
    }

    #[test]
    fn callers_fold_when_their_callees_do() {
        let wat = r#"(module
            (import "env" "h" (func $h))
            (func $a call $h)
            (func $b call $h)
            (func $c call $a)
            (func $d call $b)
            (func $e call $e)
            (func $f call $f)
            (func $g call $e))"#;
        // a = b, so c = d; e, f and g each call a function of their own class (e, f, e).
        assert_eq!(
            folded(wat),
            [None, Some(0), None, Some(2), None, Some(4), Some(4)]
        );
    }

    #[test]
    fn a_chain_longer_than_the_rounds_folds_only_exact_copies() {
        // f_i calls f_{i+1}, the last calls h: one class splits a function per round, so
        // refinement would take as many rounds as functions. Then two functions calling the
        // same function still fold (here the chain's two copies of its last link).
        let n = MAX_ROUNDS + 8;
        let mut wat = String::from("(module (import \"env\" \"h\" (func $h))");
        for i in 0..n {
            wat.push_str(&format!("(func $f{i} call $f{})", i + 1));
        }
        wat.push_str(&format!("(func $f{n} call $h) (func call $h))"));
        let into = folded(&wat);
        let mut want = vec![None; n + 2];
        want[n + 1] = Some(n as u32);
        assert_eq!(into, want);
    }

    #[test]
    fn callers_of_different_functions_stay_apart() {
        let wat = r#"(module
            (func $a (result i32) i32.const 1)
            (func $b (result i32) i32.const 2)
            (func (result i32) call $a)
            (func (result i32) call $b))"#;
        assert_eq!(folded(wat), [None, None, None, None]);
    }

    #[test]
    fn kept_and_dead_functions_do_not_fold() {
        let bytes = wat::parse_str(
            r#"(module
            (func (result i32) i32.const 7)
            (func (result i32) i32.const 7)
            (func (result i32) i32.const 7)
            (func (result i32) i32.const 7))"#,
        )
        .unwrap();
        let graph = Graph::read("test", &bytes).unwrap();
        let live = [true, true, false, true];
        assert_eq!(
            fold(&graph, &bytes, &live, |f| f == 0),
            [None, None, None, Some(1)]
        );
    }
}
