//! NUL-terminated `dlerror` messages.

use super::Error;
use alloc::vec::Vec;

/// Builds a NUL-terminated message.
pub(super) struct Msg(Vec<u8>);

impl Msg {
    pub(super) fn new(s: &str) -> Self {
        Msg(Vec::from(s.as_bytes()))
    }
    pub(super) fn s(mut self, s: &str) -> Self {
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    pub(super) fn b(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub(super) fn hex(mut self, v: u32) -> Self {
        self.0.extend_from_slice(b"0x");
        let digits = ((32 - v.leading_zeros()).div_ceil(4)).max(1);
        for i in (0..digits).rev() {
            self.0
                .push(b"0123456789abcdef"[((v >> (i * 4)) & 0xf) as usize]);
        }
        self
    }
    pub(super) fn dec(mut self, mut v: usize) -> Self {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        while let Some(slot) = i.checked_sub(1).and_then(|j| buf.get_mut(j)) {
            *slot = b'0' + (v % 10) as u8;
            i -= 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.0.extend_from_slice(buf.get(i..).unwrap_or(&[]));
        self
    }
    pub(super) fn end(mut self) -> Error {
        self.0.push(0);
        self.0
    }
}
