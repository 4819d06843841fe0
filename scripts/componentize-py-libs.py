#!/usr/bin/env python3
"""Extracts the WebAssembly libraries and the Python standard library that componentize-py bundles.

componentize-py (PyPI) carries, zstd-compressed inside its native module
(`componentize_py/componentize_py.abi3.so`), the wasi-sdk-built PIC libraries it links Python
components from: libpython3.X.so, a wasip2 libc.so, libc++.so, libc++abi.so, the
libwasi-emulated-*.so, its own runtime library, a WASI adapter, and tar archives (the standard
library and componentize-py's own Python modules). This script finds every zstd frame (magic
28 B5 2F FD) in that module, decompresses it, identifies each payload by its content (a wasm
module by its exports, imports and dylink.0 section; a tar by the files in it; never by its place
in the file) and writes

    OUT/<name>.so ...                   the dylink.0 libraries under the names dlopen/NEEDED use
    OUT/wasi_snapshot_preview1.*.wasm   the adapter
    OUT/python-home/lib/python3.X/      the standard library, where CPython looks for it with
                                        PYTHONHOME=<guest path of OUT/python-home>
    OUT/manifest.json                   name, kind, size, sha256, NEEDED of every payload

Usage (with a Python that has the `zstandard` package, e.g. the project venv):

    ~/.cache/wasm-dl/venv/bin/python scripts/componentize-py-libs.py [--from FILE] [-o OUT] [-q]

FILE is componentize-py's native module or its wheel (.whl); by default the module of the
componentize-py installed for this Python. OUT defaults to
${WASM_DL_CACHE:-${XDG_CACHE_HOME:-~/.cache}/wasm-dl}/componentize-py-<version>/. Idempotent:
when OUT/manifest.json records the same source (sha256) and every file is there, nothing is
written. The last line printed is OUT.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile

try:
    import zstandard
except ImportError:
    sys.exit("componentize-py-libs.py: needs the zstandard package "
             "(pip install zstandard==0.25.0, or run it with ~/.cache/wasm-dl/venv/bin/python)")

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
FORMAT = 1  # of manifest.json


# --- a small WebAssembly reader: just what identification needs --------------------------------

def leb(data, pos):
    """Unsigned LEB128 at pos: (value, next pos)."""
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def name_at(data, pos):
    n, pos = leb(data, pos)
    return data[pos:pos + n].decode("utf-8", "replace"), pos + n


def skip_limits(data, pos):
    flags = data[pos]
    pos += 1
    _, pos = leb(data, pos)
    if flags & 1:
        _, pos = leb(data, pos)
    return pos


class Wasm:
    """Imports, exports, dylink.0 (NEEDED, memory size) and the name section's module name."""

    def __init__(self, data):
        if data[:8] != b"\0asm\x01\0\0\0":
            raise ValueError("not a core wasm module")
        self.imports, self.exports, self.needed = [], [], []
        self.dylink = False
        self.mem_size = self.table_size = 0
        self.module_name = None
        pos = 8
        while pos < len(data):
            sid = data[pos]
            size, body = leb(data, pos + 1)
            end = body + size
            if sid == 0:
                name, p = name_at(data, body)
                if name == "dylink.0":
                    self._dylink(data, p, end)
                elif name == "name":
                    self._names(data, p, end)
            elif sid == 2:
                self._imports(data, body)
            elif sid == 7:
                self._exports(data, body)
            pos = end

    def _dylink(self, data, pos, end):
        self.dylink = True
        while pos < end:
            sub = data[pos]
            size, p = leb(data, pos + 1)
            if sub == 1:  # MEM_INFO
                self.mem_size, q = leb(data, p)
                _, q = leb(data, q)
                self.table_size, q = leb(data, q)
            elif sub == 2:  # NEEDED
                count, q = leb(data, p)
                for _ in range(count):
                    n, q = name_at(data, q)
                    self.needed.append(n)
            pos = p + size

    def _names(self, data, pos, end):
        while pos < end:
            sub = data[pos]
            size, p = leb(data, pos + 1)
            if sub == 0:
                self.module_name, _ = name_at(data, p)
            pos = p + size

    def _imports(self, data, pos):
        count, pos = leb(data, pos)
        for _ in range(count):
            module, pos = name_at(data, pos)
            field, pos = name_at(data, pos)
            kind = data[pos]
            pos += 1
            if kind in (0, 4):  # func: type index; tag: attribute, type index
                if kind == 4:
                    pos += 1
                _, pos = leb(data, pos)
            elif kind == 1:  # table: reftype, limits
                pos = skip_limits(data, pos + 1)
            elif kind == 2:  # memory
                pos = skip_limits(data, pos)
            elif kind == 3:  # global: valtype, mutability
                pos += 2
            else:
                raise ValueError(f"import kind {kind}")
            self.imports.append((module, field))

    def _exports(self, data, pos):
        count, pos = leb(data, pos)
        for _ in range(count):
            name, pos = name_at(data, pos)
            pos += 1
            _, pos = leb(data, pos)
            self.exports.append(name)


# --- frames -----------------------------------------------------------------------------------

def frames(blob):
    """(offset, payload) of every complete zstd frame in blob. A magic number that does not start
    a decodable frame (the bytes occur by chance in machine code) is skipped."""
    pos = 0
    while True:
        i = blob.find(ZSTD_MAGIC, pos)
        if i < 0:
            return
        try:
            zstandard.get_frame_parameters(blob[i:i + 18])
            obj = zstandard.ZstdDecompressor().decompressobj()
            out = obj.decompress(memoryview(blob)[i:])
            if not obj.eof:
                raise zstandard.ZstdError("truncated frame")
            pos = len(blob) - len(obj.unused_data)
            yield i, out
        except zstandard.ZstdError:
            pos = i + 1


# --- identification ---------------------------------------------------------------------------

def identify_wasm(w):
    """(name, kind) of a wasm payload, decided by what it defines; None when unknown.
    libpython's name is settled later from the NEEDED lists that name it."""
    exports = set(w.exports)
    if not w.dylink:
        if "adapter_open_badfd" in exports and "cabi_import_realloc" in exports:
            command = any(e.startswith("wasi:cli/run@") for e in exports)
            return ("wasi_snapshot_preview1.%s.wasm" % ("command" if command else "reactor"),
                    "wasi adapter")
        return None
    if "Py_Initialize" in exports and "PyRun_SimpleStringFlags" in exports:
        return ("libpython", "library")
    if {"malloc", "printf", "__main_void", "fopen"} <= exports:
        return ("libc.so", "library")
    if any(e.startswith(("_ZNSt3__", "_ZNKSt3__")) for e in exports):
        return ("libc++.so", "library")
    if {"__cxa_bad_cast", "__cxa_demangle", "__cxa_guard_acquire"} & exports and \
            "libc++abi.so" not in w.needed:
        return ("libc++abi.so", "library")
    if "PyInit_componentize_py_runtime" in exports:
        asynchronous = any(m == "$root" and f.startswith("[context-") for m, f in w.imports)
        return ("libcomponentize_py_runtime_%s.so" % ("async" if asynchronous else "sync"),
                "library")
    for sym, name in (("mmap", "libwasi-emulated-mman.so"),
                      ("signal", "libwasi-emulated-signal.so"),
                      ("getpid", "libwasi-emulated-getpid.so"),
                      ("times", "libwasi-emulated-process-clocks.so")):
        if sym in exports:
            return (name, "library")
    return None


def tar_names(payload):
    try:
        with tarfile.open(fileobj=io.BytesIO(payload)) as t:
            return t.getnames()
    except tarfile.TarError:
        return None


def identify_tar(names):
    s = set(names)
    if {"os.py", "encodings/__init__.py", "site.py"} <= s:
        return ("python-stdlib.tar", "python standard library")
    if "componentize_py_types.py" in s:
        return ("componentize-py-bundled.tar", "componentize-py python modules")
    return None


def stdlib_version(names):
    """'3.14' from the stdlib's config-3.14-<platform> directory."""
    for n in names:
        top = n.split("/")[0]
        if top.startswith("config-"):
            return top.split("-")[1]
    return None


# --- source -----------------------------------------------------------------------------------

def installed_module():
    from importlib import metadata
    dist = metadata.distribution("componentize-py")
    for f in dist.files or []:
        if f.name.startswith("componentize_py") and f.suffix in (".so", ".pyd"):
            return str(f.locate()), dist.version
    sys.exit("componentize-py-libs.py: the installed componentize-py has no native module")


def read_source(path):
    """(bytes of the native module, version or None) from a module or a wheel."""
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            mods = [n for n in z.namelist() if n.startswith("componentize_py/")
                    and n.endswith((".so", ".pyd"))]
            if len(mods) != 1:
                sys.exit(f"componentize-py-libs.py: {path}: expected one native module, got {mods}")
            version = os.path.basename(path).split("-")[1]
            return z.read(mods[0]), version
    with open(path, "rb") as f:
        return f.read(), None


def valid(out, source_sha):
    try:
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    if m.get("format") != FORMAT or m.get("source_sha256") != source_sha:
        return False
    for e in m["payloads"]:
        p = os.path.join(out, e["path"])
        if e["kind"] == "python standard library":
            if not os.path.isfile(os.path.join(p, "os.py")):
                return False
        elif not os.path.isfile(p) or os.path.getsize(p) != e["size"]:
            return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="source", help="componentize-py's native module or wheel")
    ap.add_argument("-o", "--out", help="output directory")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the output directory")
    args = ap.parse_args()

    if args.source:
        blob, version = read_source(args.source)
        source = args.source
    else:
        source, version = installed_module()
        blob, _ = read_source(source)
    version = version or "unknown"
    cache = os.environ.get("WASM_DL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "wasm-dl")
    out = args.out or os.path.join(cache, f"componentize-py-{version}")
    out = os.path.abspath(out)
    source_sha = hashlib.sha256(blob).hexdigest()
    if valid(out, source_sha):
        if not args.quiet:
            print(f"componentize-py-libs.py: {out} is up to date", file=sys.stderr)
        print(out)
        return

    found = {}  # name -> (kind, payload, wasm or tar names, offset)
    unknown = []
    for offset, payload in frames(blob):
        ident, info = None, None
        if payload[:4] == b"\0asm":
            try:
                info = Wasm(payload)
                ident = identify_wasm(info)
            except (ValueError, IndexError) as e:
                unknown.append((offset, len(payload), f"unreadable wasm: {e}"))
                continue
        else:
            info = tar_names(payload)
            if info is not None:
                ident = identify_tar(info)
        if ident is None:
            unknown.append((offset, len(payload), payload[:8]))
            continue
        name, kind = ident
        if name in found:
            if found[name][1] == payload:
                continue  # the same payload twice (componentize-py carries some per variant)
            sys.exit(f"componentize-py-libs.py: two different payloads identified as {name}")
        found[name] = (kind, payload, info, offset)

    # libpython's name: the one the other libraries' NEEDED lists use for it.
    if "libpython" not in found:
        sys.exit("componentize-py-libs.py: no payload exports Py_Initialize (libpython)")
    refs = {n for k, p, w, _ in found.values() if isinstance(w, Wasm)
            for n in w.needed if n.startswith("libpython")}
    std = found.get("python-stdlib.tar")
    pyver = stdlib_version(std[2]) if std else None
    candidates = refs or ({f"libpython{pyver}.so"} if pyver else set())
    if len(candidates) != 1:
        sys.exit(f"componentize-py-libs.py: cannot name libpython (NEEDED names {sorted(refs)})")
    found[candidates.pop()] = found.pop("libpython")
    if pyver is None:
        sys.exit("componentize-py-libs.py: no Python standard library among the payloads")

    for required in ("libc.so", "libwasi-emulated-signal.so"):
        if required not in found:
            sys.exit(f"componentize-py-libs.py: no payload identified as {required}")
    # The NEEDED names no payload provides are recorded as "missing" (libpython's libdl.so: the
    # dynamic linker's own library, which nobody ships).
    names = set(found)

    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(out) + ".", dir=os.path.dirname(out))
    entries = []
    for name in sorted(found):
        kind, payload, info, offset = found[name]
        e = {"name": name, "kind": kind, "size": len(payload),
             "sha256": hashlib.sha256(payload).hexdigest(), "frame_offset": offset}
        if isinstance(info, Wasm):
            e["path"] = name
            if info.dylink:
                e["needed"] = info.needed
                e["missing"] = sorted({n for n in info.needed if n not in names})
                e["mem_size"] = info.mem_size
                e["table_size"] = info.table_size
                e["exports"] = len(info.exports)
                e["imports"] = len(info.imports)
            if info.module_name and info.module_name.split(".")[0] != name.split(".")[0] \
                    and not name.startswith("libcomponentize_py_runtime"):
                e["name_section"] = info.module_name
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(payload)
        elif kind == "python standard library":
            e["path"] = f"python-home/lib/python{pyver}"
            e["files"] = len(info)
            dest = os.path.join(tmp, e["path"])
            os.makedirs(dest)
            os.makedirs(os.path.join(dest, "lib-dynload"))
            with tarfile.open(fileobj=io.BytesIO(payload)) as t:
                if hasattr(tarfile, "data_filter"):
                    t.extractall(dest, filter="data")
                else:
                    t.extractall(dest)
        else:
            e["path"] = name
            e["files"] = len(info)
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(payload)
        entries.append(e)
    manifest = {"format": FORMAT, "source": source, "source_sha256": source_sha,
                "componentize_py": version, "python": pyver, "payloads": entries,
                "unidentified": [{"frame_offset": o, "size": s, "start": repr(b)}
                                 for o, s, b in unknown]}
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    # Into place: another run may have finished first; its result is as good as ours.
    if os.path.exists(out):
        if valid(out, source_sha):
            shutil.rmtree(tmp)
            print(out)
            return
        shutil.rmtree(out)
    os.rename(tmp, out)
    if not args.quiet:
        for e in entries:
            needed = " NEEDED " + " ".join(e["needed"]) if e.get("needed") else ""
            print(f"  {e['name']:40} {e['size']:>9} bytes {e['kind']}{needed}", file=sys.stderr)
        for o, s, b in unknown:
            print(f"  unidentified frame at {o:#x}: {s} bytes starting {b!r}", file=sys.stderr)
    print(out)


if __name__ == "__main__":
    main()
