//! The `wasm-dl` command's global allocator: the system's, with freed memory kept and large
//! blocks on transparent huge pages (close to glibc's `glibc.malloc.hugetlb=1` and
//! `trim_threshold` tunables, which a program cannot set for itself).
//!
//! Composing a large set is mostly copying megabytes of code from buffer to buffer. With
//! glibc's defaults each large buffer is mapped on its own, faulted in a 4 KiB page at a time
//! and unmapped when freed: on CPython's set 12,000 page faults per compose, a third of the
//! composer's CPU time the kernel's. Here glibc serves blocks up to 32 MiB from its heap and
//! keeps what is freed for reuse, and the heap (grown once up front, then as glibc grows it)
//! and blocks of 2 MiB or more are advised `MADV_HUGEPAGE`, so that the kernel backs them with
//! 2 MiB pages where the system's setting is `madvise` (Debian's). Measured on CPython's set:
//! 5,500-6,400 page faults, kernel time 49 → 29-37 ms, peak RSS unchanged (53 MiB), without
//! the heap's advice (either of the other two alone leaves 11,000-12,000 faults); with it
//! ~3,100 faults, compose wall 77.3 → 72.2 ms (medians of 40 interleaved runs), peak RSS 55 →
//! 57 MiB. mimalloc (mold's choice) was as fast, but its huge pages for every arena doubled
//! the peak RSS (99 MiB), past wasm-tools' own (73 MiB).
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

/// The heap is grown to this much at the first allocation and advised onto huge pages before
/// anything touches it: glibc writes into new heap memory before it returns (`realloc` copies
/// the block there), so advice after the fact comes too late for the pages it touched, and
/// glibc has no hook at its growth (its own `hugetlb` tunable advises inside). Below [`KEEP`],
/// so that glibc takes it from the heap; only what is touched costs memory.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const FIRST_HEAP: usize = 30 << 20;

/// How much more glibc asks for each time the heap grows past its start ([`advise_heap`]
/// advises the growth).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TOP_PAD: libc::c_int = 4 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    /// glibc's; `sbrk(0)` returns the break it last set, without a system call.
    fn sbrk(increment: libc::intptr_t) -> *mut libc::c_void;
}

/// The end of the heap advised so far (0 before [`tune`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
static HEAP_ADVISED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune() {
    static TUNED: std::sync::Once = std::sync::Once::new();
    TUNED.call_once(|| {
        // SAFETY: `mallopt` only sets glibc's thresholds (under its own lock); it is called
        // outside any allocation of glibc's (before the first block is asked for). The first
        // heap is a block freed at once, untouched; `sbrk(0)` only reads the break.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP);
            // Above the first heap, which glibc then keeps.
            libc::mallopt(libc::M_TRIM_THRESHOLD, 2 * KEEP);
            libc::mallopt(libc::M_TOP_PAD, TOP_PAD);
            HEAP_ADVISED.store(sbrk(0) as usize, std::sync::atomic::Ordering::Relaxed);
            // `black_box`: a block freed unused is otherwise optimized away.
            let first = std::hint::black_box(libc::malloc(FIRST_HEAP));
            advise_heap();
            libc::free(first);
        }
    });
}

/// Advises the heap's growth since the last call onto huge pages.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn advise_heap() {
    use std::sync::atomic::Ordering::Relaxed;
    // SAFETY: `sbrk(0)` only reads the break glibc last set (a value another thread is setting
    // at the same time is only a stale bound for advice).
    let brk = unsafe { sbrk(0) } as usize;
    let done = HEAP_ADVISED.load(Relaxed);
    if done == 0
        || brk <= done
        || HEAP_ADVISED
            .compare_exchange(done, brk, Relaxed, Relaxed)
            .is_err()
    {
        return;
    }
    let start = done / 4096 * 4096;
    // SAFETY: the range is the heap's growth (or, should the heap have shrunk meanwhile,
    // nothing mapped: the call fails); advice changes how the kernel backs those pages, never
    // their contents.
    unsafe {
        libc::madvise(start as *mut libc::c_void, brk - start, libc::MADV_HUGEPAGE);
    }
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

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn advise_heap() {}

/// `ptr`, a block of `size` bytes (or null), advised onto huge pages if it is large.
fn advised(ptr: *mut u8, size: usize) -> *mut u8 {
    advise_heap();
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
