# Run by main.c (the embedding program) natively with CPython 3.11 and, composed by wasm-dl, with
# componentize-py's CPython 3.14 on WASI. Every line printed must be the same in both: no version
# numbers, addresses, platform names or messages that differ between versions.
import collections
import datetime
import decimal
import fractions
import functools
import hashlib
import importlib.util
import itertools
import json
import math
import os
import os.path
import re
import struct
import sys
import textwrap
import zlib

import host

HERE = os.path.dirname(os.path.abspath(__file__))
print("python: running", os.path.basename(sys.argv[0]), "with", sys.argv[1:])

# --- the standard library, read from the interpreter's home ---------------------------------
print("stdlib from the home:", json.__file__.startswith(sys.prefix), os.path.basename(os.path.dirname(json.__file__)))
print("json:", json.dumps({"b": [1, 2.5, None, True], "a": "x\u00e9"}, sort_keys=True))
print("json back:", json.loads('{"k": [1, {"n": null}], "s": "\\u00e9t\\u00e9"}'))
print("re:", re.findall(r"(\w+)=(\d+)", "a=1, bb=22, ccc=333"))
print("re.sub:", re.sub(r"\s+", "-", "  many   spaces here ").strip("-"))
print("re groups:", re.match(r"(?P<y>\d{4})-(?P<m>\d\d)", "2026-12-01").groupdict())
print("Counter:", collections.Counter("abracadabra").most_common(3))
Point = collections.namedtuple("Point", "x y")
d = collections.deque(range(5))
d.rotate(2)
od = collections.OrderedDict(b=1, a=2)
od.move_to_end("b")
print("namedtuple/deque/OrderedDict:", Point(1, y=2), list(d), list(od.items()))  # (its repr changed in 3.12)
print("math:", math.factorial(20), math.gcd(1071, 462), "%.12f" % math.sqrt(2), math.isclose(math.sin(math.pi), 0, abs_tol=1e-12))
print("float:", 0.1 + 0.2, 1e300 * 10, float("nan") != float("nan"), (2 ** 100) % 97)
print("os.path:", os.path.join("/a", "b", "..", "c"), os.path.normpath("/a/b/../c"), os.path.splitext("x/y.tar.gz"))
print("listdir:", sorted(n for n in os.listdir(HERE) if n.endswith((".py", ".so"))))
print("functools:", functools.reduce(lambda a, b: a * b, range(1, 11)), functools.lru_cache(maxsize=None)(lambda n: n * 2)(21))
print("itertools:", list(itertools.islice(itertools.permutations("abc"), 4)))
print("struct:", struct.pack("<iHd", -2, 513, 1.5).hex(), struct.unpack(">I", b"\x00\x01\x00\x00"))
print("hashlib:", hashlib.sha256(b"wasm-dl").hexdigest()[:16], hashlib.md5(b"").hexdigest()[:8])
print("zlib:", zlib.crc32(b"hello"), zlib.decompress(zlib.compress(b"x" * 1000)) == b"x" * 1000)
print("datetime:", datetime.date(2026, 12, 1).isoformat(), datetime.date(2026, 12, 1).strftime("%A"), datetime.timedelta(days=1, hours=2))
print("decimal/fractions:", decimal.Decimal(1) / decimal.Decimal(7), fractions.Fraction(3, 12) + fractions.Fraction(1, 3))
print("textwrap:", textwrap.wrap("the quick brown fox jumps over the lazy dog", 12))
print("str:", "Straße".upper(), "ǅ".lower(), "{:>8}|{:<6}|{:^7}".format("r", "l", "c"), f"{1234567.891:,.2f}")

# --- the embedding program's own module -----------------------------------------------------
host.log("hello from test.py")
print("host.twice:", host.twice(lambda x: x * 3, 2))

# --- the C extension, found on sys.path and opened with dlopen -------------------------------
sys.path.insert(0, HERE)
import spam

print("spam:", spam.__name__, os.path.basename(spam.__file__), spam.__doc__)
print("spam constants:", spam.ANSWER, spam.greeting, "constructor ran:", spam.constructed())
print("spam.add:", spam.add(2, 40), spam.add(-5, 3))
print("spam.divide:", spam.divide(17, 5))
try:
    spam.divide(1, 0)
except ZeroDivisionError as e:
    print("ZeroDivisionError from C:", e)
try:
    spam.divide(-4, 2)
except spam.error as e:
    print("spam.error from C:", e, "| is an Exception:", isinstance(e, Exception), "| type:", type(e).__module__, type(e).__name__)
try:
    spam.add("two", 2)
except TypeError:
    print("TypeError from PyArg_ParseTuple")

# Python -> C -> Python
print("spam.apply:", spam.apply(lambda s: s[::-1], "stressed"))
print("host.twice(spam.add):", host.twice(functools.partial(spam.add, 10), 1))
words = ["pear", "fig", "banana", "kiwi", "apple"]
print("spam.sorted_by len:", spam.sorted_by(words, lambda w: (len(w), w)))
try:
    spam.sorted_by(words, lambda w: 1 / (len(w) - 4))
except ZeroDivisionError:
    print("key raised inside qsort: ZeroDivisionError reached Python")
print("spam.safe_call:", spam.safe_call(lambda: int("not a number")), spam.safe_call(lambda: "fine"))
try:
    spam.safe_call(lambda: {}["missing"])
except KeyError as e:
    print("KeyError passed through C:", e)
spam.log("C calls host.log through Python")

# module state
print("spam.count:", spam.count(), spam.count(), spam.count())
try:
    spam.fire("x")
except spam.error as e:
    print("no callback:", e)
events = []
spam.set_callback(lambda what, n: events.append((what, n)) or len(events))
print("spam.fire:", spam.fire("first"), spam.fire("second"), events)
def bad_callback(what, n):
    raise RuntimeError("callback failed for " + what)
spam.set_callback(bad_callback)
try:
    spam.fire("third")
except RuntimeError as e:
    print("RuntimeError through C:", e)
try:
    spam.set_callback(42)
except TypeError as e:
    print("TypeError:", e)

# a second module object from the same library: its own state
spec = importlib.util.find_spec("spam")
other = importlib.util.module_from_spec(spec)
spec.loader.exec_module(other)
print("second module object:", other is spam, other.count(), spam.count(), other.error is spam.error)
print("import again:", __import__("spam") is spam)

# --- files that are no extension modules -----------------------------------------------------
for name in ("bad", "noinit"):
    try:
        __import__(name)
        print("import", name, "succeeded?!")
    except ImportError as e:
        print("import", name + ":", type(e).__name__, "name=" + str(e.name), "path=" + os.path.basename(e.path or ""))
print("not in sys.modules:", "bad" not in sys.modules, "noinit" not in sys.modules)


def on_exit(caller):
    print("on_exit called from", caller)
    return (spam.count(), len(events), host.calls())
