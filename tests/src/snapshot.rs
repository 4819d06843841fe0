//! Snapshot files (wit-component's model): a test's whole output is compared with a file kept
//! beside its inputs, so that a change in behaviour shows as a diff in review. `BLESS=1` writes
//! the files from the current output instead of comparing.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Whether `BLESS` is set (to anything but `0`): snapshots are written, not compared.
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v != "0")
}

/// Compares `actual` with the snapshot file `path` as a whole, or writes it with `BLESS=1`. A
/// missing snapshot is a failure (never a silent pass).
pub fn check(path: &Path, actual: &str) -> Result<()> {
    if blessing() {
        return std::fs::write(path, actual).with_context(|| format!("writing {}", path.display()));
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} does not exist; write it with `BLESS=1 cargo test -p wasm-dl-tests --test \
             cases` and review it. The output was:\n{actual}",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if expected == actual {
        return Ok(());
    }
    bail!(
        "{} differs from the output (rerun with BLESS=1 to accept the output, and review the \
         diff):\n{}",
        path.display(),
        diff(&expected, actual)
    )
}

/// A line diff: the first differing line with some context, `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let first = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = first.saturating_sub(3);
    let mut out = format!("at line {}:\n", first + 1);
    for l in e.iter().take(first).skip(from) {
        out.push_str(&format!("  {l}\n"));
    }
    for l in e.iter().skip(first).take(8) {
        out.push_str(&format!("- {l}\n"));
    }
    for l in a.iter().skip(first).take(8) {
        out.push_str(&format!("+ {l}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_shows_the_first_difference() {
        let d = diff("a\nb\nc\n", "a\nx\nc\n");
        assert!(
            d.starts_with("at line 2:\n  a\n- b\n- c\n+ x\n+ c\n"),
            "{d}"
        );
    }
}
