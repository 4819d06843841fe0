//! Leaving long runs of zeros out of a prelinked library's moved data (the memory image starts
//! zeroed; wasm-ld writes a PIC library's `.bss` as zeros).

/// Runs of zeros at least this long are left out of a moved segment.
const ZERO_RUN: usize = 1024;

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

/// The maximal runs of zeros in `data` at least [`ZERO_RUN`] long, as byte ranges in order.
/// Read 8 bytes at a time (a segment is megabytes of mostly nonzero data in large libraries):
/// a run that long holds a zero word at every 8th position of the scan, where it is extended
/// byte by byte to its ends.
fn long_zero_runs(data: &[u8]) -> Vec<(usize, usize)> {
    let word = |k: usize| {
        data.get(k..k + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_ne_bytes)
    };
    let mut runs = Vec::new();
    let mut k = 0;
    while let Some(w) = word(k) {
        if w != 0 {
            k += 8;
            continue;
        }
        // Back to the run's start: the bytes before k were scanned (nonzero word or the end of
        // an earlier run, which is a nonzero byte), so this stops within 8 bytes.
        let mut start = k;
        while start > 0 && data[start - 1] == 0 {
            start -= 1;
        }
        let mut end = k + 8;
        while word(end) == Some(0) {
            end += 8;
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
            7,
            8,
            9,
            15,
            16,
            17,
            ZERO_RUN - 9,
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
}
