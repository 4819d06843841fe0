//! Which library a `dlopen` name means: the names loaded libraries were opened by, then
//! [`wasm_dl_abi::path`]'s lookup with `LD_LIBRARY_PATH` and the caller's RUNPATH.

use super::{corrupt, Dl, Error, Msg};
use crate::index::{Corrupt, Index};
use alloc::vec::Vec;
use wasm_dl_abi::path::{self, Found};

impl Dl {
    /// Sets the `LD_LIBRARY_PATH` value (`None` when unset) that `dlopen` of a name without
    /// `/` searches first: the component's environment at start-up, as glibc reads it then.
    pub fn set_library_path(&mut self, value: Option<Vec<u8>>) {
        self.library_path = value;
    }

    /// The library `name` means for a `dlopen` from `caller` (`None`: main). Like glibc, a name
    /// without `/` that a loaded library was already opened by means that library, whatever the
    /// search would find now (another caller's RUNPATH may differ). Several bundled libraries
    /// of the name's basename and no path or directory picking one is an error that says so.
    pub(super) fn find(
        &self,
        index: &Index,
        caller: Option<u32>,
        name: &[u8],
    ) -> Result<Found, Error> {
        if !name.contains(&b'/') {
            let loaded = self
                .libs
                .iter()
                .position(|s| s.loaded && s.names.iter().any(|r| r == name));
            if let Some(lib) = loaded {
                return Ok(Found::Path(lib as u32));
            }
        }
        let runpath = match caller {
            Some(l) => match index.libs.get(l as usize) {
                Some(lib) => &lib.runpath[..],
                None => {
                    return Err(corrupt(&Corrupt {
                        what: "caller library id",
                        at: 0,
                    }))
                }
            },
            None => &index.main_runpath[..],
        };
        let dirs = self
            .library_path
            .as_deref()
            .into_iter()
            .flat_map(path::search_path)
            .chain(runpath.iter().map(|r| index.str(r)));
        let found = index.find_lib(name, dirs);
        if found != Found::Ambiguous {
            return Ok(found);
        }
        let base = path::basename(name);
        let mut m = Msg::new("")
            .b(name)
            .s(": cannot open shared object file: No such file or directory (wasm-dl: ")
            .b(base)
            .s(" is the name of several bundled libraries:");
        for p in index.paths_with_basename(base) {
            m = m.s(" ").b(p);
        }
        Err(m
            .s(
                "; dlopen one by its path, or name its directory in LD_LIBRARY_PATH or in the \
                caller's RUNPATH)",
            )
            .end())
    }

    /// Records that `lib` was loaded as a dependency: by the NEEDED entry it was found by at
    /// compose time, which is its basename (wasm-ld writes the basename, and a NEEDED name
    /// without `/` finds only libraries of that basename), so a later `dlopen` of that name
    /// means it, as in glibc.
    pub(super) fn requested_by_needed(&mut self, lib: u32) {
        let Ok(index) = &self.index else {
            return;
        };
        let Some(l) = index.libs.get(lib as usize) else {
            return;
        };
        let base = path::basename(index.str(&l.path)).to_vec();
        self.requested_by(lib, &base);
    }

    /// Records that `dlopen(name)` found `lib` (see [`Dl::find`]).
    pub(super) fn requested_by(&mut self, lib: u32, name: &[u8]) {
        if name.contains(&b'/') {
            return;
        }
        if let Some(s) = self.libs.get_mut(lib as usize) {
            if s.loaded && !s.names.iter().any(|r| r == name) {
                s.names.push(name.to_vec());
            }
        }
    }
}
