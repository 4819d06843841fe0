//! What a rewrite is asked to do (see [`super::rewrite`]): the index maps, what is added to
//! each section, and the hooks of a pass's [`Edit`].

use super::REMOVED;
use anyhow::{anyhow, Result};
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    ConstExpr, EntityType, ExportKind, ExportSection, Function, GlobalType, ImportSection,
    TableType, TagType, ValType,
};
use wasmparser::{DataKind, ElementKind};

/// Where the indices of one index space go: input index to output index.
#[derive(Clone, Debug, Default)]
pub enum IndexMap {
    /// No index moves.
    #[default]
    Identity,
    /// `map[i]` is the output index of input index `i`.
    Table(Vec<u32>),
}

impl IndexMap {
    pub(super) fn get(&self, i: u32, what: &str) -> Result<u32, reencode::Error<String>> {
        match self {
            IndexMap::Identity => Ok(i),
            IndexMap::Table(map) => match map.get(i as usize).copied() {
                Some(REMOVED) => Err(reencode::Error::UserError(format!(
                    "{what} {i} is removed but still used"
                ))),
                Some(j) => Ok(j),
                None => Err(reencode::Error::UserError(format!(
                    "{what} index {i} is out of range"
                ))),
            },
        }
    }

    /// Whether input index `i` is [`REMOVED`].
    pub(super) fn removed(&self, i: u32) -> bool {
        matches!(self, IndexMap::Table(map) if map.get(i as usize) == Some(&REMOVED))
    }

    pub(super) fn is_identity(&self) -> bool {
        match self {
            IndexMap::Identity => true,
            IndexMap::Table(map) => map.iter().enumerate().all(|(i, j)| i as u32 == *j),
        }
    }
}

/// The index maps of a rewrite (types, tables, memories and segments never move: a pass only
/// appends to them).
#[derive(Clone, Debug, Default)]
pub struct Maps {
    /// Functions (imports first, then definitions, as in the binary format).
    pub funcs: IndexMap,
    /// Globals.
    pub globals: IndexMap,
    /// Tags.
    pub tags: IndexMap,
    /// Defined functions (input indices, sorted) that [`Maps::funcs`] maps onto another
    /// defined function of the same type and body (`--gc`'s identical code folding): their
    /// uses and exports name that function, their own definition, body and names go.
    pub folded: Vec<u32>,
}

impl Maps {
    /// Whether input function `i` keeps its own definition in the output (neither
    /// [`REMOVED`] nor [`Maps::folded`]).
    pub(super) fn defines(&self, i: u32) -> bool {
        !self.funcs.removed(i) && self.folded.binary_search(&i).is_err()
    }
}

/// An active segment of function references a rewrite appends.
#[derive(Clone, Debug)]
pub struct ActiveFuncs {
    /// The table (`None`: table 0 in the MVP encoding).
    pub table: Option<u32>,
    /// The first slot.
    pub offset: i32,
    /// The functions, by output index.
    pub funcs: Vec<u32>,
}

/// What a rewrite appends to each section (output indices).
#[derive(Debug, Default)]
pub struct Additions {
    /// Function types: (params, results).
    pub types: Vec<(Vec<ValType>, Vec<ValType>)>,
    /// Imports: (module, name, type).
    pub imports: Vec<(String, String, EntityType)>,
    /// Defined functions: (type index, body), after the input's.
    pub funcs: Vec<(u32, Function)>,
    /// Defined tables.
    pub tables: Vec<TableType>,
    /// Tags defined *before* the input's: they take the place of tag imports the rewrite
    /// removes, so that no tag index moves.
    pub tags_first: Vec<TagType>,
    /// Tags defined after the input's.
    pub tags: Vec<TagType>,
    /// Defined globals.
    pub globals: Vec<(GlobalType, ConstExpr)>,
    /// Exports: (name, kind, index).
    pub exports: Vec<(String, ExportKind, u32)>,
    /// Active element segments.
    pub elements: Vec<ActiveFuncs>,
    /// The data count section the output must have (for `memory.init` in an added function),
    /// inserted if the input has none: the number of the input's data segments.
    pub data_count: Option<u32>,
    /// Active data segments for memory 0 at constant offsets (offset, bytes), after the
    /// input's (a data count section the input has counts them too).
    pub data: Vec<(u32, Vec<u8>)>,
    /// The least initial size, in pages, of the memory the input defines (memory 0).
    pub memory_min: Option<u64>,
}

/// Where an import is: its position among all imports and among those of its kind.
#[derive(Clone, Copy, Debug)]
pub struct ImportAt {
    /// Position in the import section.
    pub index: u32,
    /// Index in its own index space (the function index of a function import, ...).
    pub kind_index: u32,
}

/// What becomes of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentAs {
    /// Kept as it is (indices mapped).
    Keep,
    /// Made passive (an active segment whose place is known only at load time).
    Passive,
    /// Made passive and empty (its bytes moved to another module), so that no index moves.
    Emptied,
}

/// The hooks of a rewrite; each defaults to keeping the item as it is (indices mapped).
pub trait Edit {
    /// Writes import `imp` (its type already converted) to `out`, changed, or not at all to
    /// remove it (the pass's [`Maps`] account for the removal).
    fn import(
        &mut self,
        at: ImportAt,
        imp: &wasmparser::Import<'_>,
        ty: EntityType,
        out: &mut ImportSection,
    ) -> Result<()> {
        let _ = at;
        out.import(imp.module, imp.name, ty);
        Ok(())
    }

    /// Writes export `name` (its index already mapped) to `out`, changed, or not at all.
    fn export(
        &mut self,
        name: &str,
        kind: ExportKind,
        index: u32,
        out: &mut ExportSection,
    ) -> Result<()> {
        out.export(name, kind, index);
        Ok(())
    }

    /// Changes the type of defined table `index` (counted among all tables).
    fn table(&mut self, index: u32, ty: &mut TableType) -> Result<()> {
        let _ = (index, ty);
        Ok(())
    }

    /// Changes defined global `index` (counted among all globals, input numbering): its type,
    /// and its initializer when `Some` is returned.
    fn global(&mut self, index: u32, ty: &mut GlobalType) -> Result<Option<ConstExpr>> {
        let _ = (index, ty);
        Ok(None)
    }

    /// What becomes of element segment `index` of `count` items.
    fn element(&mut self, index: u32, kind: &ElementKind<'_>, count: u32) -> Result<SegmentAs> {
        let _ = (index, kind, count);
        Ok(SegmentAs::Keep)
    }

    /// What becomes of data segment `index` of `len` bytes.
    fn data(&mut self, index: u32, kind: &DataKind<'_>, len: u32) -> Result<SegmentAs> {
        let _ = (index, kind, len);
        Ok(SegmentAs::Keep)
    }

    /// Whether the start section is kept.
    fn keep_start(&self) -> bool {
        true
    }

    /// Whether custom section `name` is kept (`.debug_*` also needs the code offsets kept).
    fn keep_custom(&self, name: &str) -> bool {
        let _ = name;
        true
    }

    /// Whether every body is re-encoded with each immediate in its shortest LEB128 (the `--gc`
    /// size mode, what lld's `--compress-relocations` does) instead of copied at its offset.
    fn compact_code(&self) -> bool {
        false
    }

    /// With [`Edit::compact_code`], where in defined function `k`'s body (offsets from the
    /// body's start, its locals, ascending) the instructions are that re-encoding may change
    /// (those of more than two bytes, `call`, `return_call`, `ref.func`), if the pass read them
    /// already (`--gc` does, for its call graph): the re-encoding then reads only these and
    /// copies the bytes between. `None`: the body is read whole.
    fn reencoded_at(&self, k: u32) -> Option<&[u32]> {
        let _ = k;
        None
    }

    /// A function (input index) whose body becomes empty, and whether the other bodies must
    /// keep their offsets (DWARF addresses code by offset): then the body becomes `nop`s to its
    /// old size, else just `end`. Only for a rewrite that copies bodies unchanged (identity
    /// maps, no [`Edit::compact_code`]); ignored otherwise.
    fn emptied_body(&self) -> Option<EmptiedBody> {
        None
    }
}

/// See [`Edit::emptied_body`].
#[derive(Clone, Copy, Debug)]
pub struct EmptiedBody {
    /// The function, in the input's function index space.
    pub func: u32,
    /// Whether the other bodies keep their offsets.
    pub keep_offsets: bool,
}

/// The encoder's form of a function type: (params, results), reference types as given.
pub fn func_type(ty: &wasmparser::FuncType) -> Result<(Vec<ValType>, Vec<ValType>)> {
    let mut re = reencode::RoundtripReencoder;
    let mut conv = |types: &[wasmparser::ValType]| -> Result<Vec<ValType>> {
        types
            .iter()
            .map(|t| re.val_type(*t).map_err(|e| anyhow!("{e}")))
            .collect()
    };
    Ok((conv(ty.params())?, conv(ty.results())?))
}
