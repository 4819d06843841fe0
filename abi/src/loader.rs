//! The loader's dispatch protocol: what the dl shim asks the per-composition loader module to do
//! for one library (`dispatch(op, lib)`), and what a placement answers.
//!
//! The composer generates the loader (`synth::loader`) and the dl shim (the `wasm-dl-shim` crate)
//! calls it; both use these definitions, so the two sides cannot drift apart.

/// A step of loading or unloading one library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Op {
    /// Allocate its memory and table space; answers an [`Alloc`] code.
    Alloc = 0,
    /// Read its memory base.
    MemoryBase = 1,
    /// Read its table base.
    TableBase = 2,
    /// Copy its segments into place and apply its relocations.
    Relocate = 3,
    /// Run its constructors.
    Construct = 4,
    /// Run its destructors (`dlclose`).
    Destruct = 5,
    /// Give its table slots back to main's `ftfree` (nothing without one).
    Release = 6,
    /// Fill a function slot before its value leaves the composition: the operand is not a
    /// library but a value `dlsym` is about to return. A library's init fills only the slots
    /// of its exported functions that something in the composition refers to at compose time
    /// (`GOT.func` entries, main's PLT); when the value is a slot of another exported function
    /// of a placed library that is still null, this fills it. Any other value is left alone
    /// (a data address, main's own functions). Answers 1.
    Fill = 7,
}

impl Op {
    /// The steps run for one library, in code order (`STEPS[k] as i32 == k`): every op but
    /// [`Op::Fill`], whose operand is not a library.
    pub const STEPS: [Op; 7] = [
        Op::Alloc,
        Op::MemoryBase,
        Op::TableBase,
        Op::Relocate,
        Op::Construct,
        Op::Destruct,
        Op::Release,
    ];

    /// The op's code in `dispatch(op, lib)`.
    pub const fn code(self) -> i32 {
        self as i32
    }
}

/// What [`Op::Alloc`] answers: [`Alloc::Ok`], or why the library could not be placed. The
/// failures' codes are the discriminants of `failure` in `wit/dl.wit`, so that the shim hands
/// the answer to the provider's `abort` as it is (a test checks the WIT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Alloc {
    /// The library is placed.
    Ok = -1,
    /// `malloc` failed (out of memory): `failure.memory`.
    NoMemory = 0,
    /// Main's table cannot grow by the library's slots: `failure.table`.
    NoTable = 1,
    /// Main's `ftalloc` returned its failure value: `failure.allocator`.
    FtallocFailed = 2,
    /// Main's `ftalloc` returned no usable range (0, misaligned, past the table):
    /// `failure.allocator-range`.
    FtallocBad = 3,
}

impl Alloc {
    /// The failures, in the order of the WIT enum `failure`, with its case names.
    pub const FAILURES: [(Alloc, &'static str); 4] = [
        (Alloc::NoMemory, "memory"),
        (Alloc::NoTable, "table"),
        (Alloc::FtallocFailed, "allocator"),
        (Alloc::FtallocBad, "allocator-range"),
    ];

    /// The answer's code.
    pub const fn code(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_the_wit_discriminants() {
        for (k, (failure, _)) in Alloc::FAILURES.iter().enumerate() {
            assert_eq!(failure.code() as usize, k);
        }
    }

    #[test]
    fn op_codes_are_dense() {
        for (k, op) in Op::STEPS.iter().enumerate() {
            assert_eq!(op.code() as usize, k);
        }
        assert_eq!(Op::Fill.code() as usize, Op::STEPS.len());
    }
}
