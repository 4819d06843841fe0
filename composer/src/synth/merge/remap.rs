//! The index maps of one part of a merged module, and the copy of its bodies through them.

use anyhow::{anyhow, bail, Result};
use wasm_encoder::reencode::Reencode;
use wasm_encoder::CodeSection;

/// Index maps of one part into the merged module.
#[derive(Default)]
pub(super) struct Remap {
    pub(super) types: Vec<u32>,
    pub(super) funcs: Vec<u32>,
    pub(super) globals: Vec<u32>,
    /// The part's tables: its imported ones are main's table (0), its defined ones (a library's
    /// private slot table) follow in the merged module.
    pub(super) tables: Vec<u32>,
    /// The part's tags: imports shared by name, then each part's definitions.
    pub(super) tags: Vec<u32>,
    pub(super) data_base: u32,
    pub(super) elem_base: u32,
    /// The part's memories (imported: main's; all become the merged module's one memory).
    pub(super) memories: u32,
}

impl Remap {
    /// Whether only function indices move: every other index space of the part keeps its
    /// numbering in the merged module (as for a single library binding a weak definition to
    /// itself, a group of one). Its bodies are then copied with their calls and `ref.func`s
    /// renumbered ([`copy_body`]), not re-encoded instruction by instruction.
    pub(super) fn only_functions_move(&self) -> bool {
        let same = |v: &[u32]| v.iter().enumerate().all(|(i, &x)| x as usize == i);
        same(&self.types)
            && same(&self.globals)
            && same(&self.tables)
            && same(&self.tags)
            && self.data_base == 0
            && self.elem_base == 0
            && self.memories <= 1
    }
}

/// Appends `body` to `code` with the function index of each `call`, `return_call` and
/// `ref.func` mapped through `remap` (the only instructions naming a function), every other
/// byte copied as it is. Only for a part whose other index spaces do not move
/// ([`Remap::only_functions_move`]).
pub(super) fn copy_body(
    remap: &Remap,
    body: &wasmparser::FunctionBody<'_>,
    code: &mut CodeSection,
) -> Result<()> {
    let bytes = body.as_bytes();
    let base = body.range().start;
    let mut out: Vec<u8> = Vec::new();
    let mut copied = 0usize;
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let (op, at) = ops.read_with_offset()?;
        let f = match op {
            wasmparser::Operator::Call { function_index }
            | wasmparser::Operator::ReturnCall { function_index }
            | wasmparser::Operator::RefFunc { function_index } => function_index,
            _ => continue,
        };
        let new = lookup(&remap.funcs, f, "function").map_err(err)?;
        if new == f {
            continue;
        }
        // Each of the three is a one-byte opcode followed by the index.
        let at = usize::try_from(at - base)?;
        let end = usize::try_from(ops.original_position() - base)?;
        let (Some(kept), Some(&opcode)) = (bytes.get(copied..at), bytes.get(at)) else {
            bail!("function body offsets out of range");
        };
        if out.is_empty() {
            out.reserve(bytes.len() + 16);
        }
        out.extend_from_slice(kept);
        out.push(opcode);
        wasm_encoder::Encode::encode(&new, &mut out);
        copied = end;
    }
    if copied == 0 {
        code.raw(bytes);
    } else {
        out.extend_from_slice(bytes.get(copied..).unwrap_or_default());
        code.raw(&out);
    }
    Ok(())
}

impl Reencode for Remap {
    type Error = String;

    fn type_index(&mut self, ty: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        lookup(&self.types, ty, "type")
    }
    fn function_index(&mut self, f: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        lookup(&self.funcs, f, "function")
    }
    fn global_index(&mut self, g: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        lookup(&self.globals, g, "global")
    }
    fn data_index(&mut self, d: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        Ok(self.data_base + d)
    }
    fn element_index(&mut self, e: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        Ok(self.elem_base + e)
    }
    fn memory_index(&mut self, _: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        Ok(0)
    }
    fn table_index(&mut self, t: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        lookup(&self.tables, t, "table")
    }
    fn tag_index(&mut self, t: u32) -> Result<u32, wasm_encoder::reencode::Error<String>> {
        lookup(&self.tags, t, "tag")
    }
}

pub(super) fn lookup(
    map: &[u32],
    i: u32,
    what: &str,
) -> Result<u32, wasm_encoder::reencode::Error<String>> {
    map.get(i as usize)
        .copied()
        .ok_or_else(|| wasm_encoder::reencode::Error::UserError(format!("{what} {i} out of range")))
}

pub(super) fn err(e: wasm_encoder::reencode::Error<String>) -> anyhow::Error {
    anyhow!("{e:?}")
}
