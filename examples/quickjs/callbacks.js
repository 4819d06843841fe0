// Our own native module callbacks.so (examples/quickjs/callbacks.c): C calling back into JS, C
// closures, libc data shared with the main module; and noinit.so, a library without js_init_module.
import { apply, calls, say, enoent, adder } from "callbacks.so";

console.log("apply(Math.max, 3, 9, 4) =", apply(Math.max, 3, 9, 4));
console.log("nested:", apply((x) => apply((y) => x * y, 7), 6));
try {
    apply(() => { throw new RangeError("from JS, through C"); });
} catch (e) {
    console.log("caught", e.name, e.message);
}
try {
    apply(42);
} catch (e) {
    console.log("caught", e.name, e.message);
}
console.log("calls() =", calls());
console.log("before say");
say("hello from C");
console.log("after say");
console.log("enoent() =", enoent());
const add5 = adder(5);
console.log("adder(5)(37) =", add5(37), "adder(-1)(1) =", adder(-1)(1));
console.log("[1, 2, 3].map(adder(10)) =", [1, 2, 3].map(adder(10)).join(" "));

try {
    await import("noinit.so");
} catch (e) {
    console.log(`${e.name}: ${e.message}`);
}
console.log("done");
