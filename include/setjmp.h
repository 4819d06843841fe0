/* setjmp.h for WebAssembly modules composed with wasm-dl (Debian's and Rust's wasi-libc ship
 * none).
 *
 * setjmp/longjmp on wasm is exception handling: clang lowers each setjmp call site and each
 * longjmp into calls of a small runtime (__wasm_setjmp, __wasm_setjmp_test, __wasm_longjmp) and
 * a throw of the tag __c_longjmp. wasm-dl links them like Linux links libc's: the tag is one
 * instance shared by main and every library (so a longjmp in one library unwinds through the
 * frames of others to the setjmp in main, and the reverse), and where no input defines the
 * runtime, wasm-dl provides it.
 *
 * Build every module that calls setjmp or longjmp with LLVM 20 or later (clang-22 here):
 *   -mllvm -wasm-enable-sjlj -mllvm -wasm-use-legacy-eh=false
 * and link a non-PIC main with -Wl,--unresolved-symbols=import-dynamic (LLVM imports the
 * __c_longjmp tag, which only wasm-dl defines). The legacy exception encoding (LLVM 19, or
 * LLVM 20+ without -wasm-use-legacy-eh=false) is refused: wasmtime does not run it.
 * Runtimes: wasmtime (exceptions are on by default). Node 20 knows only the legacy encoding, so a
 * component that uses setjmp does not run under jco there.
 */
#ifndef WASM_DL_SETJMP_H
#define WASM_DL_SETJMP_H

#ifdef __cplusplus
extern "C" {
#endif

/* The runtime uses the first 16 bytes (the calling function's invocation id, the resume
 * label, and the {env, val} pair the tag carries); the rest keeps the size of musl's. */
typedef struct __jmp_buf_tag {
    unsigned long __words[8];
    unsigned long __fl;
    unsigned long __ss[128 / sizeof(long)];
} jmp_buf[1], sigjmp_buf[1];

int setjmp(jmp_buf) __attribute__((__returns_twice__));
_Noreturn void longjmp(jmp_buf, int);

/* The signal mask is not saved: WASI has no signals. clang recognises only setjmp/longjmp. */
#define _setjmp(b) setjmp(b)
#define _longjmp(b, v) longjmp(b, v)
#define sigsetjmp(b, s) setjmp(b)
#define siglongjmp(b, v) longjmp(b, v)

#ifdef __cplusplus
}
#endif

#endif
