/* wasm-dl/ftalloc.h: the main module's function-table allocator, for main modules composed with
 * wasm-dl (the seed's `ftalloc`, beside `malloc`).
 *
 * A main module that manages slots of its own __indirect_function_table -- one that installs
 * callbacks or generated functions into free slots at run time, or reuses slots it freed -- can
 * share the table with libraries safely by defining these two functions (and exporting them:
 * `wasm-dl flags main` gives -Wl,--export-if-defined=ftalloc -Wl,--export-if-defined=ftfree).
 * Then every table range wasm-dl takes at run time comes from ftalloc instead of table.grow:
 * a library's table slots and function slots when dlopen places it (one range per library),
 * and the slot of wasm-dl's destructor-list function (one slot, the first time a library
 * registers a destructor). Slots wasm-dl takes while the component is instantiated, before any
 * code of main runs (its loader's dispatch slot, slots for exported functions that no element
 * segment placed), are part of the table main finds when it starts, like its own elements.
 *
 * ftalloc(count, align): the first index of `count` consecutive slots nobody else uses, a
 * multiple of `align` (a power of two, at least 1: the library's dylink.0 table alignment),
 * growing the table if need be; or FTALLOC_FAILED. Never 0 (slot 0 is NULL). wasm-dl checks the
 * answer: FTALLOC_FAILED, 0, a misaligned index or a range past the table's size makes that
 * dlopen return NULL with a dlerror message, and nothing of that dlopen remains (ranges it got
 * for other libraries of its load set go back through ftfree). wasm-dl sets the slots to NULL
 * before it fills them. count is never 0.
 *
 * ftfree(first, count) (optional): takes back a whole range ftalloc handed out. dlclose calls it
 * for each library it unloads (reference count zero, not RTLD_NODELETE), after the library's
 * destructors ran, with the slots already set to NULL, so a stale pointer into the library traps
 * instead of calling whatever main installs there next; a later dlopen asks ftalloc again.
 * Without ftfree, an unloaded library keeps its range for its next dlopen. The library's memory
 * (from malloc) is kept either way.
 *
 * When they are called: at dlopen, and -- for the libraries main is linked against (DT_NEEDED),
 * which are placed before _start -- before main's constructors run, as malloc is then. So
 * ftalloc must work from statically initialised state alone (a free list in static storage, the
 * table grown with __builtin_wasm_table_grow or inline `table.grow`); it may call malloc. It is
 * never called from inside a call of itself or of ftfree. Failing at start-up traps (main cannot
 * run without those libraries). Not used in an all-PIC set (a `-shared` main), whose table the
 * root module wasm-dl synthesizes owns.
 */
#ifndef WASM_DL_FTALLOC_H
#define WASM_DL_FTALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What ftalloc returns when it cannot give the slots (what table.grow fails with). */
#define FTALLOC_FAILED ((size_t)-1)

size_t ftalloc(size_t count, size_t align);
void ftfree(size_t first, size_t count);

#ifdef __cplusplus
}
#endif

#endif
