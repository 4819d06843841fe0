//! The one symbol-precedence rule, used by every lookup: which of several definitions of a name an
//! import binds to. It follows glibc's `ld.so`, decided at compose time:
//!
//! 1. the main program (handled by the callers: a non-PIC main's exports come before any library);
//! 2. the global scope the program starts with: the libraries loaded before `_start` (a PIC
//!    main first, then its NEEDED closure, breadth first) — so the executable's definition of a
//!    weak function, C++ type info or an inline variable wins over a library's own copy;
//! 3. the importing library's local scope: itself, then its NEEDED closure, breadth first;
//! 4. every other bundled library in load order (wasm-dl's extension: glibc would report the
//!    symbol undefined; wasm-dl makes the defining library a dependency instead).
//!
//! Whether a definition is weak does not matter, as in glibc (`LD_DYNAMIC_WEAK` unset): the first
//! definition in that order wins.

use super::{Def, LibId};
use crate::parse::Library;
use hashbrown::HashMap;
use std::collections::VecDeque;

/// Breadth-first ranks of the libraries reachable from `roots` through NEEDED edges.
pub(crate) fn bfs_ranks(
    roots: impl IntoIterator<Item = LibId>,
    needed: &[Vec<LibId>],
) -> HashMap<LibId, usize> {
    let mut rank: HashMap<LibId, usize> = HashMap::new();
    let mut queue: VecDeque<LibId> = roots.into_iter().collect();
    while let Some(l) = queue.pop_front() {
        if rank.contains_key(&l) {
            continue;
        }
        rank.insert(l, rank.len());
        if let Some(next) = needed.get(l.index()) {
            queue.extend(next.iter().copied());
        }
    }
    rank
}

/// The search order for one importer: the start-up global scope, then a local scope.
pub(crate) struct Scope<'a> {
    /// Ranks in the global scope the program starts with (tier 2).
    pub global: &'a HashMap<LibId, usize>,
    /// Ranks in the importer's local scope (tier 3); empty for main's own imports.
    pub local: HashMap<LibId, usize>,
}

impl Scope<'_> {
    /// The sort key of a definition in library `l`: smaller wins.
    fn key(&self, l: LibId) -> (u8, usize, u32) {
        if let Some(r) = self.global.get(&l) {
            (0, *r, l.0)
        } else if let Some(r) = self.local.get(&l) {
            (1, *r, l.0)
        } else {
            (2, 0, l.0)
        }
    }

    /// The winning definition among `list` (all definitions of one name), of the wanted kind
    /// when `want_func` is given.
    pub fn best(&self, list: &[Def], want_func: Option<bool>) -> Option<Def> {
        list.iter()
            .filter(|d| want_func.is_none_or(|f| matches!(d, Def::Func(..)) == f))
            .min_by_key(|d| self.key(d.lib()))
            .copied()
    }

    /// The library that owns the winning definition (for messages).
    pub fn winner<'l, 'b>(&self, list: &[Def], libs: &'l [Library<'b>]) -> Option<&'l Library<'b>> {
        libs.get(self.best(list, None)?.lib().index())
    }
}
