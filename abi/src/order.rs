//! The load order: which libraries a `dlopen` (or the start-up) places, and in what order.
//! The provider applies it at run time; the composer's link map prints what it will be.

use alloc::vec;
use alloc::vec::Vec;

/// `root` and its dependencies, dependencies first: a post-order depth-first walk over the
/// dependency lists (`deps(lib)`, in NEEDED order), each library once, cycles cut where they
/// close, skipping libraries for which `loaded` holds (and what is reachable only through
/// them). Ids of `n_libs` or more are ignored. Constructors run in this order, destructors in
/// the reverse.
pub fn load_order<'a>(
    root: u32,
    n_libs: usize,
    deps: impl Fn(u32) -> &'a [u32],
    loaded: impl Fn(u32) -> bool,
) -> Vec<u32> {
    let mut out = Vec::new();
    let mut seen = vec![false; n_libs];
    match seen.get_mut(root as usize) {
        Some(s) if !loaded(root) => *s = true,
        _ => return out,
    }
    // (library, next dependency position)
    let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
    while let Some(top) = stack.last_mut() {
        let (lib, pos) = *top;
        match deps(lib).get(pos).copied() {
            Some(dep) => {
                top.1 += 1;
                if let Some(s) = seen.get_mut(dep as usize) {
                    if !*s && !loaded(dep) {
                        *s = true;
                        stack.push((dep, 0));
                    }
                }
            }
            None => {
                out.push(lib);
                stack.pop();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::load_order;

    #[test]
    fn dependencies_first_once_cycles_cut() {
        // 0 -> 1, 2; 1 -> 2, 3; 2 -> 0 (a cycle); 3 -> 9 (out of range).
        let deps: [&[u32]; 4] = [&[1, 2], &[2, 3], &[0], &[9]];
        let order = load_order(0, 4, |l| deps[l as usize], |_| false);
        assert_eq!(order, [2, 3, 1, 0]);
        let order = load_order(0, 4, |l| deps[l as usize], |l| l == 1);
        assert_eq!(order, [2, 0]);
        assert!(load_order(1, 4, |l| deps[l as usize], |l| l == 1).is_empty());
        assert!(load_order(7, 4, |l| deps[l as usize], |_| false).is_empty());
    }
}
