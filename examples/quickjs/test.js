// Imports two native C modules (quickjs-ng's examples/fib.c and examples/point.c, built unmodified)
// and uses them. The output must be the same natively (gcc, real dlopen) and as a wasm-dl component.
import * as std from "qjs:std";
import { fib } from "fib.so";
import { Point } from "point.so";

console.log("fib(0..10) =", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(fib).join(" "));
console.log("fib(25) =", fib(25));
try {
    fib(Symbol("not a number"));
} catch (e) {
    console.log("fib(Symbol) throws", e.constructor.name);
}

// A class defined in C: constructor, getters/setters (magic), a method, a finalizer.
const p = new Point(3, 4);
console.log("Point(3, 4): x =", p.x, "y =", p.y, "norm =", p.norm());
p.x = 6;
p.y = 8;
console.log("after set: x =", p.x, "y =", p.y, "norm =", p.norm());
console.log("instanceof Point:", p instanceof Point, "typeof norm:", typeof p.norm);

// A JS subclass of the C class: new.target's prototype reaches the C constructor.
class ColorPoint extends Point {
    constructor(x, y, color) {
        super(x, y);
        this.color = color;
    }
    describe() {
        return `(${this.x}, ${this.y}) ${this.color} |${this.norm()}|`;
    }
}
const cp = new ColorPoint(5, 12, "red");
console.log("ColorPoint:", cp.describe(), cp instanceof Point);

// A C getter on a wrong receiver throws a TypeError from inside the library.
try {
    Object.getOwnPropertyDescriptor(Point.prototype, "x").get.call({});
} catch (e) {
    console.log("x getter on {} throws", e.constructor.name);
}

// Many short-lived Points: the garbage collector runs point.c's finalizer (js_free_rt) on each.
let sum = 0;
for (let i = 0; i < 10000; i++) {
    const q = new Point(i, -i);
    sum += q.x - q.y;
}
console.log("sum =", sum);
let finalized = 0;
const registry = new FinalizationRegistry(() => { finalized++; });
for (let i = 0; i < 100; i++)
    registry.register(new Point(i, i), i);
std.gc();
await null;
console.log("finalized after gc:", finalized);
// Loading errors: dlopen fails and dlerror() explains why; a second import of the same library
// (another spelling of its name) gives the module QuickJS already has.
try {
    await import("nope.so");
} catch (e) {
    console.log(`${e.name}: ${e.message}`);
}
const again = await import("./fib.so");
console.log("second import, same fib:", again.fib === fib, again.fib(20));
console.log("done");
