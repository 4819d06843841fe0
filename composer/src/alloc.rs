//! The `wasm-dl` command's global allocator: the system's, with freed memory kept and large
//! blocks on transparent huge pages (close to glibc's `glibc.malloc.hugetlb=1` and
//! `trim_threshold` tunables, which a program cannot set for itself).
//!
//! Composing a large set is mostly copying megabytes of code from buffer to buffer. With
//! glibc's defaults each large buffer is mapped on its own, faulted in a 4 KiB page at a time
//! and unmapped when freed: on CPython's set 12,000 page faults per compose, a third of the
//! composer's CPU time the kernel's. Here glibc serves blocks up to 32 MiB from its heap and
//! keeps what is freed for reuse, and blocks of 2 MiB or more are advised `MADV_HUGEPAGE`, so
//! that the kernel backs them with 2 MiB pages where the system's setting is `madvise`
//! (Debian's). Measured on CPython's set: 5,500-6,400 page faults, kernel time 49 → 29-37 ms,
//! peak RSS unchanged (53 MiB); either half alone leaves 11,000-12,000 faults. mimalloc (mold's
//! choice) was as fast, but its huge pages for every arena doubled the peak RSS (99 MiB), past
//! wasm-tools' own (73 MiB).
//!
//! The library does not install it: a program using `wasm_dl` chooses its own allocator; the
//! command line and the benchmarks' compose child declare this one
//! (`#[global_allocator] static A: wasm_dl::alloc::HugePages = wasm_dl::alloc::HugePages;`).

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, keeping freed memory and with blocks of 2 MiB or more advised onto huge
/// pages (on Linux with glibc; elsewhere the system allocator as it is).
pub struct HugePages;

/// The size of a transparent huge page on x86-64 and aarch64 (4 KiB base pages); blocks smaller
/// than it gain nothing.
const HUGE: usize = 2 << 20;

/// glibc serves blocks below this from its heap, where freed memory is kept for reuse (by
/// default it maps each block of 128 KiB or more on its own and unmaps it when freed), and
/// does not give the heap's top back to the system before this much is free. 32 MiB is the
/// most glibc accepts (half its largest heap).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEEP: libc::c_int = 32 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune() {
    static TUNED: std::sync::Once = std::sync::Once::new();
    TUNED.call_once(|| {
        // SAFETY: `mallopt` only sets glibc's thresholds (under its own lock); it is called
        // outside any allocation of glibc's (before the first block is asked for).
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP);
            libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP);
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn advise(ptr: *mut u8, size: usize) {
    // The huge pages wholly inside the block.
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize).saturating_add(size) / HUGE * HUGE;
    if end > start {
        // SAFETY: the range lies inside a block the allocator just handed out; advice changes
        // how the kernel backs those pages, never their contents. Failure (a kernel without
        // THP) leaves them as they were.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn advise(_: *mut u8, _: usize) {}

/// `ptr`, a block of `size` bytes (or null), advised onto huge pages if it is large.
fn advised(ptr: *mut u8, size: usize) -> *mut u8 {
    if size >= HUGE && !ptr.is_null() {
        advise(ptr, size);
    }
    ptr
}

// SAFETY: every block comes from `System` and goes back to it with the same layout; `advise`
// neither moves nor frees memory.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        tune();
        // SAFETY: forwarded with the caller's guarantees.
        advised(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        tune();
        // SAFETY: forwarded with the caller's guarantees.
        advised(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        advised(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_keep_their_bytes_through_realloc() {
        let a = HugePages;
        let layout = Layout::from_size_align(5 << 20, 8).unwrap();
        // SAFETY: a non-zero size; every access is inside the block; freed with its layout.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            for i in (0..layout.size()).step_by(4096) {
                *p.add(i) = (i >> 12) as u8;
            }
            let q = a.realloc(p, layout, 11 << 20);
            assert!(!q.is_null());
            for i in (0..layout.size()).step_by(4096) {
                assert_eq!(*q.add(i), (i >> 12) as u8);
            }
            a.dealloc(q, Layout::from_size_align(11 << 20, 8).unwrap());
            let z = a.alloc_zeroed(layout);
            assert!(!z.is_null());
            assert!((0..layout.size()).step_by(4096).all(|i| *z.add(i) == 0));
            a.dealloc(z, layout);
        }
    }
}
