/* dlfcn.h for WebAssembly main modules composed with wasm-dl.
 *
 * The dl* functions are imported from the core module "wasm-dl", which `wasm-dl compose` satisfies
 * with its shim (C ABI) in front of the provider component (the POSIX dl state machine).
 * Flag values follow glibc's x86-64 dlfcn.h so that code testing bits behaves the same.
 *
 * Behaviour, as glibc's where WebAssembly allows:
 * - dlopen finds a bundled library by the name given at compose time, a --lib alias, or the
 *   basename of any path ("/usr/lib/x/libfoo.so" and "x/libfoo.so" find "libfoo.so"): every
 *   bundled library is, in effect, in every directory, so LD_LIBRARY_PATH and RUNPATH could add
 *   nothing and are not read. Exactly one of RTLD_LAZY or RTLD_NOW is required (both bind now).
 * - RTLD_GLOBAL adds the library and its dependencies to the global scope (searched by
 *   RTLD_DEFAULT and dlopen(NULL) handles after main's exports); RTLD_LOCAL (0) does not.
 * - RTLD_NEXT finds the next definition after the calling object: from main or a library in the
 *   global scope, in the global scope after it; from a library opened RTLD_LOCAL, among its own
 *   dependencies. (Each library reaches dlsym through a function of its own that names it.)
 * - dlclose at reference count zero (unless RTLD_NODELETE) runs the destructors the library
 *   registered with __cxa_atexit (__attribute__((destructor)), C++ statics), then its exported
 *   __wasm_call_dtors, and those of dependencies nothing else needs; a later dlopen constructs it
 *   again. What is still registered at exit runs then.
 */
#ifndef WASM_DL_DLFCN_H
#define WASM_DL_DLFCN_H

#ifdef __cplusplus
extern "C" {
#endif

#define RTLD_LAZY 0x00001
#define RTLD_NOW 0x00002
#define RTLD_NOLOAD 0x00004
#define RTLD_DEEPBIND 0x00008
#define RTLD_GLOBAL 0x00100
#define RTLD_LOCAL 0
#define RTLD_NODELETE 0x01000

/* Pseudo-handles for dlsym. */
#define RTLD_DEFAULT ((void *)0)
#define RTLD_NEXT ((void *)-1)

typedef struct {
  const char *dli_fname; /* library that contains the address */
  void *dli_fbase;       /* its memory base */
  const char *dli_sname; /* nearest symbol */
  void *dli_saddr;       /* its address */
} Dl_info;

#ifdef WASM_DL_PLAIN_IMPORTS
/* Ordinary undefined functions (imported from "env", as with wasi-sdk's own dlfcn.h): wasm-dl binds
 * them to its dl functions all the same, and `wasm-tools component link --use-built-in-libdl`
 * can link the same files. */
#define WASM_DL_IMPORT(name)
#else
#define WASM_DL_IMPORT(name) __attribute__((import_module("wasm-dl"), import_name(#name)))
#endif

WASM_DL_IMPORT(dlopen) void *dlopen(const char *filename, int flags);
WASM_DL_IMPORT(dlsym) void *dlsym(void *handle, const char *symbol);
WASM_DL_IMPORT(dlclose) int dlclose(void *handle);
WASM_DL_IMPORT(dlerror) char *dlerror(void);
/* For a function pointer (a table slot) or a data address inside a loaded library: fills *info
 * (dli_fname: the library's name as composed; dli_fbase: its memory base; dli_sname/dli_saddr:
 * the nearest exported symbol at or below, or NULL) and returns non-zero; 0 when no loaded
 * library holds the address. The strings are allocated per call and never freed. */
WASM_DL_IMPORT(dladdr) int dladdr(const void *addr, Dl_info *info);

#undef WASM_DL_IMPORT

#ifdef __cplusplus
}
#endif

#endif
