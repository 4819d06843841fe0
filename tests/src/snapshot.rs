//! Whole-file snapshots (wit-component's model): a test compares what it produced with a file
//! beside its inputs, and `BLESS=1` rewrites the file instead, so that a change in behaviour
//! shows as a diff in review.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Whether this run rewrites snapshots (`BLESS=1`).
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v != "0" && !v.is_empty())
}

/// Compares `actual` with the file `path` (or, when blessing, writes it there).
pub fn check(path: &Path, actual: &str) -> Result<()> {
    if blessing() {
        return std::fs::write(path, actual).with_context(|| format!("writing {}", path.display()));
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} does not exist: run the test with BLESS=1 to write it, and review it",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if expected != actual {
        bail!(
            "{} differs from what the test produced (run with BLESS=1 to accept it):\n{}",
            path.display(),
            diff(&expected, actual)
        );
    }
    Ok(())
}

/// The lines that differ, `-` expected and `+` actual (a plain line-by-line comparison, enough
/// to read a changed snapshot in a test failure).
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    let common = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let tail = e[common..]
        .iter()
        .rev()
        .zip(a[common..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    for l in &e[common..e.len() - tail] {
        out.push_str(&format!("- {l}\n"));
    }
    for l in &a[common..a.len() - tail] {
        out.push_str(&format!("+ {l}\n"));
    }
    if out.is_empty() {
        out.push_str("(they differ only in line endings or a final newline)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn diff_shows_the_changed_lines() {
        let d = super::diff("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(d, "- b\n+ B\n");
    }
}
