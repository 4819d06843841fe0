//! The loader's plan: what it does for each library, decided here from the libraries, the
//! layout and main's slots, as plain data. `loader::encode` turns the plan into instructions
//! and decides nothing itself.

use crate::layout::{GroupId, Layout, LibSlot, TableSlot};
use crate::parse::{Library, MainModule, MAX_TABLE_ALIGN};
use crate::resolve::{DataOffset, FuncSource, FuncSym, GotId, GotTarget, LibId, Resolution};
use crate::synth::ftalloc::TableAllocator;
use crate::synth::plt;

/// A global of main that holds an address in a library (see `synth::plt`): a PLT entry's slot,
/// or what a `GOT.func`/`GOT.mem` import of main became. The loader sets it when it places the
/// library.
#[derive(Clone, Debug)]
pub struct MainSlot {
    /// Main's export of the global.
    pub global: String,
    /// The library it points into.
    pub lib: LibId,
    /// What of the library it holds.
    pub value: SlotValue,
}

/// What a [`MainSlot`] holds once its library is placed.
#[derive(Clone, Copy, Debug)]
pub enum SlotValue {
    /// The table slot of the library's function symbol.
    Func(FuncSym),
    /// The address of the library's data symbol.
    Data(DataOffset),
}

/// Everything the loader does, per library, and what it imports to do it.
#[derive(Debug)]
pub struct LoaderPlan {
    /// One per library, in library order (the `lib` operand of `dispatch`).
    pub libs: Vec<LibPlan>,
    /// Main's globals the loader sets (PLT slots, main's GOT entries), imported in this order;
    /// [`Target::Main`] indexes it.
    pub main_slots: Vec<String>,
    /// The env module's GOT entries the loader sets, each imported once, in this order.
    pub gots: Vec<GotId>,
    /// Main's table allocator (`synth::ftalloc`), when it has one and there are libraries.
    pub table_alloc: Option<TableAllocator>,
    /// Whether some library registers destructors: the loader imports the destructor lists'
    /// drain function (`synth::atexit`).
    pub atexit: bool,
}

/// What the loader does for one library.
#[derive(Debug)]
pub struct LibPlan {
    /// The library.
    pub lib: LibId,
    /// The group whose instance exports its entry points.
    pub group: GroupId,
    /// Where its memory comes from.
    pub memory: MemoryPlan,
    /// Its table slots: its own (`MEM_INFO` table size) then one per exported function (its
    /// init fills them), from main's `ftalloc` or by growing main's table.
    pub table: TablePlan,
    /// How many of its slots are its exported functions' (the last ones): [`Op::Fill`]
    /// fills them.
    ///
    /// [`Op::Fill`]: wasm_dl_abi::loader::Op::Fill
    pub exported: u32,
    /// Whether it gets a stack of its own (`Binding::OwnStack`), `malloc`ed when placed.
    pub own_stack: bool,
    /// Globals set once its bases are known, each a base plus an offset.
    pub assigns: Vec<Assign>,
    /// Whether it kept a start function (exported as `START_EXPORT`, run after its init).
    pub start: bool,
    /// Whether the loader calls its `__wasm_apply_data_relocs` (not when the relocations are
    /// in its data already: `synth::library`).
    pub apply_data_relocs: bool,
    /// Its constructor entry point (`__wasm_call_ctors`), if any.
    pub ctor: Option<String>,
    /// Whether it exports `__wasm_call_dtors` (run at `dlclose`).
    pub dtor: bool,
}

/// Where a library's memory comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryPlan {
    /// It needs none (`MEM_INFO` memory size 0): its base stays 0.
    None,
    /// Fixed at compose time (`layout::Prelink`): the region starts zeroed and holding its data.
    Fixed(u32),
    /// `size` bytes `malloc`ed at the first placement, aligned to `align`, and zeroed (again at
    /// each later placement).
    Malloc {
        /// `MEM_INFO` memory size.
        size: u32,
        /// `MEM_INFO` memory alignment, in bytes.
        align: u32,
    },
}

/// Where a library's table slots come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TablePlan {
    /// Fixed at compose time (`layout::Prelink`): `slots` slots from `base`, inside main's
    /// initial table, never given back (a prelinked library is never unloaded).
    Fixed {
        /// The first slot.
        base: TableSlot,
        /// Its own slots plus one per exported function.
        slots: u32,
    },
    /// `slots` slots at the first placement, the first at a multiple of `align`.
    Take {
        /// Its own slots plus one per exported function.
        slots: u32,
        /// `MEM_INFO` table alignment, in slots.
        align: u32,
    },
}

impl TablePlan {
    /// How many slots the library holds.
    pub fn slots(self) -> u32 {
        match self {
            TablePlan::Fixed { slots, .. } | TablePlan::Take { slots, .. } => slots,
        }
    }
}

/// A global the loader sets when it places a library.
#[derive(Clone, Copy, Debug)]
pub struct Assign {
    /// The global.
    pub target: Target,
    /// Its value.
    pub value: Value,
}

/// A global the loader sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// An entry of the env module's GOT.
    Got(GotId),
    /// One of main's globals: its position in [`LoaderPlan::main_slots`].
    Main(u32),
}

/// The value of an [`Assign`]: relative to one of the library's bases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// Memory base + offset: a data symbol's address.
    Memory(u32),
    /// Table base + slot: a function symbol's slot (after the library's own slots).
    Table(LibSlot),
}

/// Plans the loader. `has_start[j]` says whether library j kept a start function,
/// `relocs_applied[j]` whether its data relocations were applied at compose time.
pub fn plan(
    libs: &[Library<'_>],
    has_start: &[bool],
    relocs_applied: &[bool],
    layout: &Layout,
    has_atexit: bool,
    main_slots: &[MainSlot],
    table_alloc: Option<TableAllocator>,
) -> LoaderPlan {
    let mut gots: Vec<GotId> = Vec::new();
    let mut seen = hashbrown::HashSet::new();
    for got in layout.got_by_lib.iter().flatten() {
        if seen.insert(*got) {
            gots.push(*got);
        }
    }
    // Main's slots by the library they point into (each library's assigns keep slot order).
    let mut slots_of: Vec<Vec<(u32, SlotValue)>> = vec![Vec::new(); libs.len()];
    for (i, slot) in main_slots.iter().enumerate() {
        if let Some(v) = slots_of.get_mut(slot.lib.index()) {
            v.push((i as u32, slot.value));
        }
    }
    let plans = libs
        .iter()
        .enumerate()
        .map(|(j, lib)| {
            let id = LibId(j as u32);
            // parse bounds table_size + funcs + alignment padding by MAX_TABLE_SLOTS (so the
            // slots and `LibSlot::func` do not saturate), and
            // mem_align (<= 31) and mem_size + align - 1 (<= u32::MAX).
            let func_slot = |k: FuncSym| Value::Table(LibSlot::func(lib, k));
            let memory = match layout.prelink.memory_base.get(j).copied().flatten() {
                Some(base) => MemoryPlan::Fixed(base),
                None if lib.mem_size == 0 => MemoryPlan::None,
                None => MemoryPlan::Malloc {
                    size: lib.mem_size,
                    align: 1u32 << lib.mem_align.min(31),
                },
            };
            let slots = lib.table_size.saturating_add(lib.funcs.len() as u32);
            let table = match layout.prelink.table_base.get(j).copied().flatten() {
                Some(base) => TablePlan::Fixed { base, slots },
                None => TablePlan::Take {
                    slots,
                    align: 1u32 << lib.table_align.min(MAX_TABLE_ALIGN),
                },
            };
            let mut assigns = Vec::new();
            for got in layout.got_by_lib.get(j).into_iter().flatten() {
                let value = match layout.gots.get(got.0 as usize) {
                    Some(GotTarget::LibData(_, off)) => Value::Memory(off.0),
                    Some(GotTarget::LibFunc(_, k)) => func_slot(*k),
                    _ => continue,
                };
                assigns.push(Assign {
                    target: Target::Got(*got),
                    value,
                });
            }
            for &(i, slot) in &slots_of[j] {
                let value = match slot {
                    SlotValue::Func(k) => func_slot(k),
                    SlotValue::Data(off) => Value::Memory(off.0),
                };
                assigns.push(Assign {
                    target: Target::Main(i),
                    value,
                });
            }
            LibPlan {
                lib: id,
                group: layout.group_of[j],
                memory,
                table,
                exported: lib.funcs.len() as u32,
                own_stack: layout.own_stack.get(j).copied().unwrap_or(false),
                assigns,
                start: has_start.get(j).copied().unwrap_or(false),
                apply_data_relocs: lib.apply_data_relocs
                    && !relocs_applied.get(j).copied().unwrap_or(false),
                ctor: lib.ctor.clone(),
                dtor: lib.dtor,
            }
        })
        .collect();
    LoaderPlan {
        libs: plans,
        main_slots: main_slots.iter().map(|s| s.global.clone()).collect(),
        gots,
        table_alloc: table_alloc.filter(|_| !libs.is_empty()),
        atexit: has_atexit,
    }
}

/// The globals of main that point into libraries, for the loader to set (see `synth::plt`):
/// the slots of main's PLT entries and what its `GOT.*` imports became.
pub fn main_slots(main: &MainModule<'_>, res: &Resolution) -> Vec<MainSlot> {
    let plt = main
        .lib_imports
        .iter()
        .zip(&res.main_imports)
        .filter_map(|(imp, src)| match src {
            FuncSource::Lib(lib, k) => Some(MainSlot {
                global: plt::plt_global(&imp.name),
                lib: *lib,
                value: SlotValue::Func(*k),
            }),
            _ => None,
        });
    let got = main
        .got_imports
        .iter()
        .zip(&res.main_gots)
        .filter_map(|(g, t)| {
            let (lib, value) = match t {
                GotTarget::LibFunc(l, k) => (*l, SlotValue::Func(*k)),
                GotTarget::LibData(l, off) => (*l, SlotValue::Data(*off)),
                _ => return None,
            };
            Some(MainSlot {
                global: plt::got_global(g.func, &g.name),
                lib,
                value,
            })
        });
    plt.chain(got).collect()
}

/// Per library and exported function (`FuncSym` order): whether something in the composition
/// refers to the function's slot at compose time, so that the library's init fills it (see
/// `synth::library`): a GOT entry (`GOT.func` of main or of any library, loaded at start or
/// later, and the trampolines' entries: `gots`, the layout's) or one of main's slots (its PLT,
/// its `GOT.func` imports). Every other slot is reachable only through a `dlsym` answer, and
/// filled then ([`wasm_dl_abi::loader::Op::Fill`]), in a library marked `lazy`; in the others
/// every slot counts as observed (filled when the library is placed).
pub fn observed_slots(
    libs: &[Library<'_>],
    gots: &[GotTarget],
    main_slots: &[MainSlot],
    lazy: &[bool],
) -> Vec<Vec<bool>> {
    let mut observed: Vec<Vec<bool>> = libs
        .iter()
        .enumerate()
        .map(|(j, l)| vec![!lazy.get(j).copied().unwrap_or(false); l.funcs.len()])
        .collect();
    let mut mark = |l: LibId, k: FuncSym| {
        if let Some(f) = observed
            .get_mut(l.index())
            .and_then(|v| v.get_mut(k.0 as usize))
        {
            *f = true;
        }
    };
    for t in gots {
        if let GotTarget::LibFunc(l, k) = t {
            mark(*l, *k);
        }
    }
    for s in main_slots {
        if let SlotValue::Func(k) = s.value {
            mark(s.lib, k);
        }
    }
    observed
}
