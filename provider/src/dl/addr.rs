//! `dladdr`: which loaded library (and symbol) an address belongs to.

use super::{AddrInfo, Dl};
use alloc::vec::Vec;

impl Dl {
    /// `dladdr(address)`: the loaded library whose function slots or memory hold `address`.
    ///
    /// Function slots are tried first (in load order), then memory: table slots and addresses
    /// are both small integers, and a function pointer is what `dladdr` is mostly given. A slot
    /// among the library's own element slots (functions whose address it takes internally) names
    /// the library but no symbol. Main's own symbols are not reported. A corrupt symbol block
    /// of the index names no symbol. A library whose symbols the shim's table holds (its block
    /// is empty) gets no symbol here either: the shim finds it (`lib` and `function` say where).
    pub fn addr(&self, address: u32) -> Option<AddrInfo> {
        let index = self.index.as_ref().ok()?;
        let a = u64::from(address);
        let info = |l: u32, x: &crate::index::Lib, sym: Option<u32>, base: u64, function| {
            let s = self.libs.get(l as usize)?;
            let mut fname = Vec::from(index.str(&x.name));
            fname.push(0);
            let (sname, saddr) =
                match sym.and_then(|i| x.symbols(&index.bytes).ok()?.syms.syms.get(i as usize)) {
                    Some(sym) => {
                        let mut n = Vec::from(index.str(&sym.name));
                        n.push(0);
                        (n, base.wrapping_add(u64::from(sym.value)) as u32)
                    }
                    None => (Vec::new(), 0),
                };
            Some(AddrInfo {
                fname,
                fbase: s.memory_base,
                sname,
                saddr,
                lib: l,
                function,
            })
        };
        // The last entry of `sorted` (symbol indices by value) whose value is <= v, and the
        // first symbol with that value (several names may share an address).
        let below = |x: &crate::index::Lib, sorted: &[u32], v: u64| -> Option<u32> {
            let value = |i: &u32| {
                x.symbols(&index.bytes)
                    .ok()
                    .and_then(|xs| xs.syms.syms.get(*i as usize))
                    .map_or(0, |s| u64::from(s.value))
            };
            let end = sorted.partition_point(|i| value(i) <= v);
            let best = value(sorted.get(end.checked_sub(1)?)?);
            let first = sorted.partition_point(|i| value(i) < best);
            sorted.get(first).copied()
        };
        for &l in &self.load_order {
            let (Some(s), Some(x)) = (self.libs.get(l as usize), index.libs.get(l as usize)) else {
                continue;
            };
            let tb = u64::from(s.table_base);
            let first = tb + u64::from(x.table_size);
            let end = first + u64::from(x.n_funcs);
            if a < tb || a >= end {
                continue;
            }
            // A corrupt symbol block names no symbol.
            let Ok(xs) = x.symbols(&index.bytes) else {
                return info(l, x, None, first, true);
            };
            let sym = if a >= first {
                let k = a - first;
                below(x, &xs.funcs_by_value, k).filter(|&i| {
                    xs.syms.syms.get(i as usize).map(|s| u64::from(s.value)) == Some(k)
                })
            } else {
                None
            };
            return info(l, x, sym, first, true);
        }
        for &l in &self.load_order {
            let (Some(s), Some(x)) = (self.libs.get(l as usize), index.libs.get(l as usize)) else {
                continue;
            };
            let mb = u64::from(s.memory_base);
            if a < mb || a >= mb + u64::from(x.mem_size) {
                continue;
            }
            let sym = x
                .symbols(&index.bytes)
                .ok()
                .and_then(|xs| below(x, &xs.data_by_value, a - mb));
            return info(l, x, sym, mb, false);
        }
        None
    }
}
