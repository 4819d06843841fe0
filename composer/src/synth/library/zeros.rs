//! Leaving long runs of zeros out of a prelinked library's moved data (the memory image starts
//! zeroed; wasm-ld writes a PIC library's `.bss` as zeros), and its start function out when all
//! it does is zero its `.bss` ([`only_zeroes_own_memory`]).

/// Runs of zeros at least this long are left out of a moved segment: each run cut out starts a
/// new segment, whose header (flags, `i32.const` offset, `end`, length) takes at most 13 bytes
/// and typically 8 (a 4-byte offset, as for any library placed past 1 MiB, and a piece under
/// 128 bytes: CPython's median is 31), so cutting out 9 zeros pays in the typical case. On
/// CPython's prelinked data, 9 instead of 16 makes 12,296 segments instead of 5,738 and the
/// data section 20 KB smaller (8 saves 29 bytes more for 2,600 more segments; 10 saves 1.6 KB
/// less). It must be at least 7 for [`long_zero_runs`]'s word scan to see every such run.
const ZERO_RUN: usize = 9;

/// The most segments [`keep_segments_below`] leaves in the prelinked data: far below
/// wasmparser's (and the engines') limit of 100,000 data segments per module, leaving room for
/// main's own.
pub(crate) const MAX_PRELINKED_SEGMENTS: usize = 50_000;

/// Appends segment `data` at offset `off` to `out` as pieces without long runs of zeros (wasm-ld
/// writes a PIC library's `.bss` as zeros: its memory is not known to start zeroed): the spans
/// between zero runs of at least [`ZERO_RUN`] bytes, each without its leading and trailing zeros.
pub(super) fn split_zeros(off: u32, data: &[u8], out: &mut Vec<(u32, Vec<u8>)>) {
    let mut span_start = 0;
    for (zeros_start, zeros_end) in long_zero_runs(data) {
        push_trimmed(off, data, span_start, zeros_start, out);
        span_start = zeros_end;
    }
    push_trimmed(off, data, span_start, data.len(), out);
}

/// `data[start..end]` without its leading and trailing zeros, unless nothing is left (each is a
/// run shorter than [`ZERO_RUN`] or at an end of `data`).
fn push_trimmed(off: u32, data: &[u8], start: usize, end: usize, out: &mut Vec<(u32, Vec<u8>)>) {
    let span = &data[start..end];
    let Some(first) = span.iter().position(|b| *b != 0) else {
        return;
    };
    let last = span.iter().rposition(|b| *b != 0).unwrap_or(first);
    // parse checked that every segment ends within the library's memory (u32 offsets).
    out.push((off + (start + first) as u32, span[first..=last].to_vec()));
}

/// Joins the segments of `data` nearest each other in memory, the zeros between them written
/// out again (the memory image starts zeroed), until at most `max` are left: data with a short
/// run of zeros every few bytes would otherwise make more segments than a module may have.
/// Only disjoint segments are joined (then their order does not matter: they are sorted by
/// address); `data` with overlapping segments is left as it is.
pub(crate) fn keep_segments_below(data: &mut Vec<(u32, Vec<u8>)>, max: usize) {
    let max = max.max(1);
    if data.len() <= max {
        return;
    }
    let end = |(off, d): &(u32, Vec<u8>)| u64::from(*off) + d.len() as u64;
    let mut spans: Vec<(u32, u64)> = data.iter().map(|s| (s.0, end(s))).collect();
    spans.sort_unstable();
    if spans.windows(2).any(|w| u64::from(w[1].0) < w[0].1) {
        return;
    }
    data.sort_by_key(|(off, _)| *off);
    // The zeros between each segment and the next.
    let mut gaps: Vec<(u64, usize)> = spans
        .windows(2)
        .enumerate()
        .map(|(k, w)| (u64::from(w[1].0).saturating_sub(w[0].1), k))
        .collect();
    // The smallest gaps (ties: the lower address; the pairs are distinct, so this is exact).
    let joins = data.len() - max;
    gaps.select_nth_unstable(joins - 1);
    let mut join_after = vec![false; data.len()];
    for &(_, k) in &gaps[..joins] {
        join_after[k] = true;
    }
    let mut out: Vec<(u32, Vec<u8>)> = Vec::with_capacity(max);
    for (k, piece) in std::mem::take(data).into_iter().enumerate() {
        match out.last_mut() {
            Some(last) if k > 0 && join_after[k - 1] => {
                // Sorted and disjoint: `piece` starts at or past the end of `last`.
                let zeros = u64::from(piece.0).saturating_sub(end(last)) as usize;
                last.1.resize(last.1.len() + zeros, 0);
                last.1.extend_from_slice(&piece.1);
            }
            _ => out.push(piece),
        }
    }
    *data = out;
}

/// The maximal runs of zeros in `data` at least [`ZERO_RUN`] long, as byte ranges in order.
/// Read 4 bytes at a time (a segment is megabytes of mostly nonzero data in large libraries):
/// a run of 7 or more holds a zero word at some position of the scan (every 4th byte), where
/// it is extended byte by byte to its ends.
fn long_zero_runs(data: &[u8]) -> Vec<(usize, usize)> {
    const WORD: usize = 4;
    let word = |k: usize| {
        data.get(k..k + WORD)
            .and_then(|w| <[u8; WORD]>::try_from(w).ok())
            .map(u32::from_ne_bytes)
    };
    let mut runs = Vec::new();
    let mut k = 0;
    while let Some(w) = word(k) {
        if w != 0 {
            k += WORD;
            continue;
        }
        // Back to the run's start: the bytes before k were scanned (nonzero word or the end of
        // an earlier run, which is a nonzero byte), so this stops within a word.
        let mut start = k;
        while start > 0 && data[start - 1] == 0 {
            start -= 1;
        }
        let mut end = k + WORD;
        while word(end) == Some(0) {
            end += WORD;
        }
        while data.get(end) == Some(&0) {
            end += 1;
        }
        if end - start >= ZERO_RUN {
            runs.push((start, end));
        }
        k = end;
    }
    runs
}

/// Whether function `body` only fills ranges of the library's own memory with zeros:
/// `memory.fill(__memory_base + offset, 0, len)` with constant offsets and lengths inside
/// `mem_size` bytes, nothing else. That is the whole of the `__wasm_init_memory` start function
/// wasm-ld writes for a PIC library whose `.bss` is not written as data (componentize-py's
/// `libpython3.14.so` and `libc.so`: 46 KB and 5 KB). A prelinked library's region is zero
/// when it is placed (fresh memory image, placed once per instance), so the call only
/// touches pages (a page fault each) to write zeros over zeros.
///
/// Returns the ranges (offset from the memory base, length), or `None` when the body does more.
pub(super) fn only_zeroes_own_memory(
    body: &wasmparser::FunctionBody<'_>,
    memory_base: Option<u32>,
    mem_size: u32,
) -> Option<Vec<(u32, u32)>> {
    use wasmparser::Operator as O;
    let mb = memory_base?;
    let ops = body
        .get_operators_reader()
        .ok()?
        .into_iter()
        .collect::<wasmparser::Result<Vec<_>>>()
        .ok()?;
    let Some((O::End, fills)) = ops.split_last() else {
        return None;
    };
    if fills.is_empty() || fills.len() % 6 != 0 {
        return None;
    }
    fills
        .chunks(6)
        .map(|c| {
            let offset = match c {
                [O::I32Const { value }, O::GlobalGet { global_index }, O::I32Add, ..]
                | [O::GlobalGet { global_index }, O::I32Const { value }, O::I32Add, ..]
                    if *global_index == mb =>
                {
                    *value as u32
                }
                _ => return None,
            };
            match &c[3..] {
                [O::I32Const { value: 0 }, O::I32Const { value: len }, O::MemoryFill { mem: 0 }]
                    if u64::from(offset) + u64::from(*len as u32) <= u64::from(mem_size) =>
                {
                    Some((offset, *len as u32))
                }
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition [`split_zeros`] implements, a byte at a time.
    fn split_zeros_bytewise(off: u32, data: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            while i < data.len() && data[i] == 0 {
                i += 1;
            }
            let start = i;
            let mut end = i;
            while i < data.len() {
                if data[i] != 0 {
                    i += 1;
                    end = i;
                    continue;
                }
                let run = data[i..].iter().take_while(|b| **b == 0).count();
                if run >= ZERO_RUN || i + run == data.len() {
                    break;
                }
                i += run;
            }
            if end > start {
                out.push((off + start as u32, data[start..end].to_vec()));
            }
            i = i.max(end);
        }
        out
    }

    #[test]
    fn split_zeros_keeps_short_runs_and_drops_long_ones() {
        // Runs of zeros and of data at every length near the word size and near ZERO_RUN, at
        // every alignment, from a fixed pseudo-random sequence.
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let lengths = [
            0,
            1,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            15,
            16,
            17,
            ZERO_RUN - 2,
            ZERO_RUN - 1,
            ZERO_RUN,
            ZERO_RUN + 1,
        ];
        for case in 0..400 {
            let mut data = Vec::new();
            for part in 0..(case % 9) {
                let len = lengths[next() as usize % lengths.len()];
                let zero = (part + case) % 2 == 0;
                data.extend((0..len).map(|_| if zero { 0 } else { (next() % 4) as u8 }));
            }
            let mut out = Vec::new();
            split_zeros(100, &data, &mut out);
            assert_eq!(
                out,
                split_zeros_bytewise(100, &data),
                "case {case}: {data:?}"
            );
        }
    }

    /// The memory `data` writes (later segments over earlier ones), up to `len` bytes.
    fn image(data: &[(u32, Vec<u8>)], len: usize) -> Vec<u8> {
        let mut m = vec![0; len];
        for (off, d) in data {
            m[*off as usize..*off as usize + d.len()].copy_from_slice(d);
        }
        m
    }

    #[test]
    fn keep_segments_below_joins_the_nearest_and_keeps_the_image() {
        // Out of order; gaps 3, 1, 5, 2.
        let data = vec![
            (0, vec![1, 2]),
            (7, vec![4, 4]),
            (5, vec![3]),
            (14, vec![5, 5]),
            (18, vec![7]),
        ];
        let mut joined = data.clone();
        keep_segments_below(&mut joined, 3);
        assert_eq!(
            joined,
            vec![
                (0, vec![1, 2]),
                (5, vec![3, 0, 4, 4]),
                (14, vec![5, 5, 0, 0, 7])
            ]
        );
        assert_eq!(image(&joined, 20), image(&data, 20));
        let mut all = data.clone();
        keep_segments_below(&mut all, 0);
        assert_eq!(all.len(), 1);
        assert_eq!(image(&all, 20), image(&data, 20));
        // Nothing to do under the limit, nor when segments overlap (their order matters).
        let mut same = data.clone();
        keep_segments_below(&mut same, 5);
        assert_eq!(same, data);
        let overlapping = vec![(9, vec![3]), (1, vec![2]), (0, vec![1, 1])];
        let mut kept = overlapping.clone();
        keep_segments_below(&mut kept, 1);
        assert_eq!(image(&kept, 10), image(&overlapping, 10));
    }

    /// The body of a function of one module (`(func ...)` with the given instructions),
    /// read back by wasmparser.
    fn zero_fills(
        build: impl Fn(&mut wasm_encoder::InstructionSink<'_>),
    ) -> Option<Vec<(u32, u32)>> {
        let mut f = wasm_encoder::Function::new([]);
        build(&mut f.instructions());
        let mut code = wasm_encoder::CodeSection::new();
        code.function(&f);
        let mut types = wasm_encoder::TypeSection::new();
        types.ty().function([], []);
        let mut funcs = wasm_encoder::FunctionSection::new();
        funcs.function(0);
        let mut m = wasm_encoder::Module::new();
        m.section(&types).section(&funcs).section(&code);
        let bytes = m.finish();
        for p in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = p {
                return only_zeroes_own_memory(&body, Some(3), 1000);
            }
        }
        None
    }

    #[test]
    fn start_that_only_zeroes_its_memory_is_recognised() {
        let fill = |ins: &mut wasm_encoder::InstructionSink<'_>, off: i32, len: i32| {
            ins.i32_const(off)
                .global_get(3)
                .i32_add()
                .i32_const(0)
                .i32_const(len)
                .memory_fill(0);
        };
        let two = zero_fills(|ins| {
            fill(ins, 100, 50);
            ins.global_get(3)
                .i32_const(400)
                .i32_add()
                .i32_const(0)
                .i32_const(600)
                .memory_fill(0);
            ins.end();
        });
        assert_eq!(two, Some(vec![(100, 50), (400, 600)]));
        // Past the library's memory, another base, a nonzero value, anything else: no.
        assert_eq!(
            zero_fills(|ins| {
                fill(ins, 500, 501);
                ins.end();
            }),
            None
        );
        assert_eq!(
            zero_fills(|ins| {
                ins.i32_const(1)
                    .global_get(2)
                    .i32_add()
                    .i32_const(0)
                    .i32_const(1)
                    .memory_fill(0)
                    .end();
            }),
            None
        );
        assert_eq!(
            zero_fills(|ins| {
                ins.i32_const(1)
                    .global_get(3)
                    .i32_add()
                    .i32_const(7)
                    .i32_const(1)
                    .memory_fill(0)
                    .end();
            }),
            None
        );
        assert_eq!(
            zero_fills(|ins| {
                fill(ins, 0, 8);
                ins.call(0).end();
            }),
            None
        );
        assert_eq!(
            zero_fills(|ins| {
                ins.end();
            }),
            None
        );
    }
}
