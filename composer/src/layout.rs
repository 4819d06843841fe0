//! Pass 3: decide the shape of the composition: the order libraries are instantiated in,
//! which cross-library calls need a trampoline (the callee is instantiated later, e.g. in a
//! cycle), and which GOT entries each library's allocation fills in.

use crate::parse::Library;
use crate::resolve::{Binding, FuncSource, GotId, GotTarget, LibId, LibImport, Resolution};
use hashbrown::HashMap;

/// The composition's shape.
#[derive(Debug)]
pub struct Layout {
    /// Libraries in instantiation order (callees before callers where the call graph allows).
    pub order: Vec<LibId>,
    /// Consecutive runs of `order` merged into one core module each (see [`MAX_LIB_MODULES`]).
    pub groups: Vec<Vec<LibId>>,
    /// The group of each library.
    pub group_of: Vec<GroupId>,
    /// Function imports that go through a trampoline: (importer, import index) → GOT entry of the
    /// callee's slot.
    pub trampolines: HashMap<LibImport, GotId>,
    /// Per library, the GOT entries whose value its allocation sets.
    pub got_by_lib: Vec<Vec<GotId>>,
    /// Trap stubs (weak undefined or, with `stub_missing`, missing functions): symbol and type.
    pub stubs: Vec<(String, wasmparser::FuncType)>,
    /// Which stub each stubbed function import uses: (importer, import index) → stub number.
    pub stub_of: HashMap<LibImport, StubId>,
    /// Per library: whether it gets a stack of its own (`Binding::OwnStack`).
    pub own_stack: Vec<bool>,
    /// Every GOT entry: the resolution's (`Resolution::gots`, same ids), then one per callee
    /// of a trampoline.
    pub gots: Vec<GotTarget>,
    /// The libraries whose memory base is decided now ([`prelink`]; none until it runs).
    pub prelink: Prelink,
}

/// Most core modules the libraries may take. Runtimes bound the core modules and instances of a
/// component (wasmparser: 1000 instances; wasmtime 48's alias analysis: 256 modules), so beyond
/// this many libraries, consecutive libraries are merged into one module.
pub const MAX_LIB_MODULES: usize = 128;

/// A trap stub: its position in [`Layout::stubs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StubId(pub u32);

/// A slot of main's function table: an absolute index, what a function pointer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableSlot(pub u32);

/// A slot counted from a library's table base: its own elements (`MEM_INFO` table size) first,
/// then one per exported function ([`LibSlot::func`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LibSlot(pub u32);

impl LibSlot {
    /// The slot of `lib`'s exported function `k`. parse bounds `table_size` + the number of
    /// functions by `MAX_TABLE_SLOTS`, so this does not saturate on a parsed library.
    pub fn func(lib: &Library<'_>, k: crate::resolve::FuncSym) -> LibSlot {
        LibSlot(lib.table_size.saturating_add(k.0))
    }

    /// The absolute slot when the library's table base is `base`.
    pub fn at(self, base: TableSlot) -> Option<TableSlot> {
        base.0.checked_add(self.0).map(TableSlot)
    }
}

/// A group: consecutive libraries of [`Layout::order`] merged into one core module (an index
/// into [`Layout::groups`]). Groups are instantiated in index order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(pub u32);

impl GroupId {
    /// The group's position in [`Layout::groups`].
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// Import module name under which the group's instance is seen.
    pub fn module_name(self) -> String {
        format!("grp{}", self.0)
    }
}

/// Name under which a library's export is exported from its group's module.
pub fn export_name(lib: LibId, name: &str) -> String {
    format!("{}:{name}", lib.0)
}

/// Computes the layout.
pub fn layout(libs: &[Library<'_>], res: &Resolution) -> Layout {
    // Instantiation order: depth-first post-order over direct function imports.
    let n = libs.len();
    let mut order = Vec::with_capacity(n);
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (l, ref mut next)) = stack.last_mut() {
            let binds = &res.bindings[l];
            let mut pushed = false;
            while *next < binds.len() {
                let b = &binds[*next];
                *next += 1;
                if let Binding::Func(FuncSource::Lib(m, _)) = b {
                    if state[m.index()] == 0 {
                        state[m.index()] = 1;
                        stack.push((m.index(), 0));
                        pushed = true;
                        break;
                    }
                }
            }
            if !pushed {
                state[l] = 2;
                order.push(LibId(l as u32));
                stack.pop();
            }
        }
    }
    let group_size = n.div_ceil(MAX_LIB_MODULES).max(1);
    let groups: Vec<Vec<LibId>> = order.chunks(group_size).map(|c| c.to_vec()).collect();
    let mut group_of = vec![GroupId(0); n];
    for (g, members) in groups.iter().enumerate() {
        for l in members {
            group_of[l.index()] = GroupId(g as u32);
        }
    }

    let mut gots = res.gots.clone();
    let mut got_index: HashMap<GotTarget, GotId> = gots
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), GotId(i as u32)))
        .collect();
    let mut trampolines = HashMap::new();
    for (l, binds) in res.bindings.iter().enumerate() {
        for (i, b) in binds.iter().enumerate() {
            if let Binding::Func(FuncSource::Lib(m, k)) = b {
                // A callee in a later group is not instantiated yet; in the same group the merged
                // module calls it directly. A library alone in its group that imports its own
                // export (libc's weak aliases: `_IO_getc` for `getc`) calls it through a
                // trampoline too: merging the library with itself only to resolve those imports
                // would renumber its functions, rewriting every body (and validating each again).
                let alone = groups[group_of[l].index()].len() == 1;
                if group_of[m.index()] > group_of[l] || (m.index() == l && alone) {
                    let t = GotTarget::LibFunc(*m, *k);
                    let id = *got_index.entry(t.clone()).or_insert_with(|| {
                        gots.push(t);
                        GotId(gots.len() as u32 - 1)
                    });
                    let at = LibImport {
                        lib: LibId(l as u32),
                        index: i as u32,
                    };
                    trampolines.insert(at, id);
                }
            }
        }
    }

    let mut stubs: Vec<(String, wasmparser::FuncType)> = Vec::new();
    let mut stub_index: HashMap<(String, wasmparser::FuncType), StubId> = HashMap::new();
    let mut stub_of = HashMap::new();
    for (l, binds) in res.bindings.iter().enumerate() {
        for (i, b) in binds.iter().enumerate() {
            let imp = &libs[l].imports[i];
            if let (Binding::Func(FuncSource::Trap), crate::parse::ImportKind::Func(ty)) =
                (b, &imp.kind)
            {
                let key = (imp.field.clone(), ty.clone());
                let n = *stub_index.entry(key.clone()).or_insert_with(|| {
                    stubs.push(key);
                    StubId(stubs.len() as u32 - 1)
                });
                let at = LibImport {
                    lib: LibId(l as u32),
                    index: i as u32,
                };
                stub_of.insert(at, n);
            }
        }
    }

    let mut got_by_lib = vec![Vec::new(); n];
    for (i, t) in gots.iter().enumerate() {
        match t {
            GotTarget::LibData(l, _) | GotTarget::LibFunc(l, _) => {
                got_by_lib[l.index()].push(GotId(i as u32))
            }
            GotTarget::Null | GotTarget::Abs(_) => {}
        }
    }

    Layout {
        order,
        groups,
        group_of,
        trampolines,
        got_by_lib,
        stubs,
        stub_of,
        own_stack: res
            .bindings
            .iter()
            .map(|b| b.contains(&Binding::OwnStack))
            .collect(),
        gots,
        prelink: Prelink::none(n),
    }
}

/// Where the libraries loaded before `_start` live, decided at compose time (prelinking).
///
/// The libraries main needs are placed before `_start` in every run, and never unloaded (the
/// provider opens them `RTLD_NODELETE`, and keeps what they depend on), so their memory need
/// not come from `malloc`: it is a region right above the initial memory of the module that
/// defines the memory (main, or the root of an all-PIC set), which that module's initial size
/// grows to hold. Nothing else hands that region out: wasi-libc's `malloc` (dlmalloc) takes
/// the memory between `__heap_base` and `__heap_end` (the end of the *linked* initial memory),
/// then only what `memory.grow` returns, which is past the region; the root's allocator
/// only uses `memory.grow` as well. Their data segments become active segments of that module
/// at constant offsets (see `synth::main_module`), which wasmtime maps copy-on-write from the
/// compiled image instead of copying them at every start.
///
/// When main has no table allocator of its own (`ftalloc`), their table slots are fixed too:
/// consecutive ranges right after main's initial table, which grows to hold them (the loader's
/// `table.grow`s come after it). With both bases known, every GOT entry that points into main
/// or a prelinked library is a constant, and so is what `__wasm_apply_data_relocs` stores:
/// `synth::library` evaluates it into the data image (see `synth::library::relocs`). What stays
/// at run time: filling the slots (the library's init), the GOT globals, constructors.
#[derive(Debug, Default)]
pub struct Prelink {
    /// Per library, its memory base if prelinked.
    pub memory_base: Vec<Option<u32>>,
    /// The least initial size of the memory, in pages, when some library is prelinked.
    pub memory_pages: Option<u64>,
    /// Per library, its table base if its slots are fixed.
    pub table_base: Vec<Option<TableSlot>>,
    /// The least initial size of main's table when some library's slots are fixed.
    pub table_min: Option<u64>,
}

impl Prelink {
    /// Nothing prelinked, for `n` libraries.
    pub fn none(n: usize) -> Prelink {
        Prelink {
            memory_base: vec![None; n],
            memory_pages: None,
            table_base: vec![None; n],
            table_min: None,
        }
    }

    /// The value of GOT entry `t` when it is known at compose time: main's addresses, and
    /// addresses in prelinked libraries (`libs` gives the table sizes).
    pub fn got_value(&self, t: &GotTarget, libs: &[Library<'_>]) -> Option<u32> {
        match t {
            GotTarget::Null => Some(0),
            GotTarget::Abs(a) => Some(*a),
            GotTarget::LibData(l, off) => self
                .memory_base
                .get(l.index())
                .copied()
                .flatten()
                .and_then(|b| b.checked_add(off.0)),
            GotTarget::LibFunc(l, k) => {
                let base = self.table_base.get(l.index()).copied().flatten()?;
                let lib = libs.get(l.index())?;
                Some(LibSlot::func(lib, *k).at(base)?.0)
            }
        }
    }

    /// The compose-time value of each import of library `lib` that is a constant global (its
    /// bases, GOT entries known at compose time), by import index; `None` unless both of its
    /// bases are fixed.
    pub fn import_values(
        &self,
        lib: LibId,
        libs: &[Library<'_>],
        res: &Resolution,
        gots: &[GotTarget],
    ) -> Option<Vec<Option<u32>>> {
        let mb = self.memory_base.get(lib.index()).copied().flatten()?;
        let tb = self.table_base.get(lib.index()).copied().flatten()?;
        let binds = res.bindings.get(lib.index())?;
        Some(
            binds
                .iter()
                .map(|b| match b {
                    Binding::MemoryBase => Some(mb),
                    Binding::TableBase => Some(tb.0),
                    Binding::Got(id) => gots
                        .get(id.0 as usize)
                        .and_then(|t| self.got_value(t, libs)),
                    _ => None,
                })
                .collect(),
        )
    }
}

/// The most memory the prelinked libraries may take (the rest are placed by `malloc`).
const PRELINK_LIMIT: u64 = 1 << 30;

/// Decides which libraries are prelinked, and where: those the start-up loads (the same load
/// order the provider computes from the index), above `memory` (the initial and maximum pages
/// of the memory main defines), and, when `table` is given (the first slot after main's initial
/// table; `None` when main allocates its table itself), their slots from there on.
pub fn prelink(
    libs: &[Library<'_>],
    res: &Resolution,
    memory: (u64, Option<u64>),
    table: Option<u64>,
) -> Prelink {
    let n = libs.len();
    let mut memory_base = vec![None; n];
    let mut loaded = vec![false; n];
    let mut order = Vec::new();
    let deps: Vec<Vec<u32>> = res
        .deps
        .iter()
        .map(|d| d.iter().map(|l| l.0).collect())
        .collect();
    for root in &res.startup {
        let list = wasm_dl_abi::order::load_order(
            root.0,
            n,
            |l| deps.get(l as usize).map_or(&[][..], |d| &d[..]),
            |l| loaded.get(l as usize).copied().unwrap_or(true),
        );
        for &l in &list {
            if let Some(x) = loaded.get_mut(l as usize) {
                *x = true;
            }
        }
        order.extend(list);
    }
    let start = memory.0.saturating_mul(1 << 16);
    let mut next = start;
    let mut table_base = vec![None; n];
    let mut next_slot = table;
    for l in order {
        let Some(lib) = libs.get(l as usize) else {
            continue;
        };
        if lib.mem_size > 0 {
            let align = 1u64 << lib.mem_align.min(31);
            let base = next.div_ceil(align).saturating_mul(align);
            let end = base.saturating_add(u64::from(lib.mem_size));
            if end - start > PRELINK_LIMIT {
                break;
            }
            memory_base[l as usize] = Some(base as u32);
            next = end;
        }
        // Its slots: its own table (MEM_INFO size and alignment), then one per exported
        // function, as the loader's `table.grow` would place them.
        if let Some(slot) = next_slot {
            let align = 1u64 << lib.table_align.min(crate::parse::MAX_TABLE_ALIGN);
            let base = slot.div_ceil(align).saturating_mul(align);
            let end = base
                .saturating_add(u64::from(lib.table_size))
                .saturating_add(lib.funcs.len() as u64);
            if end > u64::from(crate::parse::MAX_TABLE_SLOTS) {
                next_slot = None;
            } else {
                table_base[l as usize] = Some(TableSlot(base as u32));
                next_slot = Some(end);
            }
        }
    }
    let pages = next.div_ceil(1 << 16);
    let fits = memory.1.is_none_or(|max| pages <= max) && pages <= 1 << 16;
    if next == start || !fits {
        return Prelink::none(n);
    }
    // Past the table limit, no slot is fixed (the loader places them all).
    let table_min = match next_slot {
        Some(end) if table_base.iter().any(Option::is_some) => Some(end),
        _ => {
            table_base = vec![None; n];
            None
        }
    };
    Prelink {
        memory_base,
        memory_pages: Some(pages),
        table_base,
        table_min,
    }
}
