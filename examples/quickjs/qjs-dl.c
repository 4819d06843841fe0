/* qjs-dl: a minimal `qjs` for wasm-dl. Runs one JS file as a module with QuickJS (quickjs-ng) and
 * quickjs-libc (`qjs:std`, `qjs:os`), and loads native modules (`import ... from "fib.so"`) through
 * dlopen/dlsym as quickjs-libc does on Linux -- quickjs-libc stubs its `.so` loader out under __wasi__,
 * so this driver installs its own.
 *
 * The same file builds natively (gcc, glibc's dlfcn.h, -ldl) and for wasm32-wasi (clang, -Iinclude
 * picks wasm-dl's dlfcn.h); tests/tests/quickjs.rs compares the two.
 *
 *   qjs-dl script.js [args...]
 *
 * With -DQJS_DL_IN_LIBRARY it is part of libqjs.so instead, for shared-main.c.
 */
#ifdef QJS_DL_IN_LIBRARY
/* Built into the shared library libqjs.so (see shared-main.c): main is the library's qjs_dl_main and
 * the dl* calls go through wrappers the main module exports (lib-dlfcn.h). */
#include "lib-dlfcn.h"
#define main qjs_dl_main
#else
#include <dlfcn.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs-libc.h"
#include "quickjs.h"

#ifdef __wasi__
/* quickjs-ng builds for WASI with -D_WASI_EMULATED_SIGNAL and links -lwasi-emulated-signal. The wasi-libc
 * used here (Rust's wasm32-wasip1 self-contained one, with Debian's headers) ships no
 * libwasi-emulated-signal.a. quickjs-libc calls signal() only from os.signal(), which the scripts run
 * here do not use, so these stubs stand in for that library: signal() fails like a signal that cannot
 * be caught (EINVAL, SIG_ERR), and SIG_ERR/SIG_IGN are the functions <signal.h> declares for them
 * (wasi-libc defines them the same way: SIG_IGN does nothing, SIG_ERR must never be called). */
#include <errno.h>
#include <signal.h>
void __SIG_IGN(int sig)
{
    (void)sig;
}
void __SIG_ERR(int sig)
{
    (void)sig;
    __builtin_trap();
}
void (*signal(int sig, void (*func)(int)))(int)
{
    (void)sig;
    (void)func;
    errno = EINVAL;
    return SIG_ERR;
}
#endif

typedef JSModuleDef *(JSInitModuleFunc)(JSContext *ctx, const char *module_name);

/* quickjs-libc.c's Linux js_module_loader_so, verbatim in behaviour. */
static JSModuleDef *load_native_module(JSContext *ctx, const char *module_name)
{
    JSModuleDef *m;
    void *hd;
    JSInitModuleFunc *init;
    char *filename;

    if (!strchr(module_name, '/')) {
        /* must add a '/' so that the DLL is not searched in the system library paths */
        filename = js_malloc(ctx, strlen(module_name) + 2 + 1);
        if (!filename)
            return NULL;
        strcpy(filename, "./");
        strcpy(filename + 2, module_name);
    } else {
        filename = (char *)module_name;
    }

    hd = dlopen(filename, RTLD_NOW | RTLD_LOCAL);
    if (filename != module_name)
        js_free(ctx, filename);
    if (!hd) {
        JS_ThrowReferenceError(ctx, "could not load module filename '%s' as shared library: %s",
                               module_name, dlerror());
        goto fail;
    }

    *(void **)(&init) = dlsym(hd, "js_init_module");
    if (!init) {
        JS_ThrowReferenceError(ctx, "could not load module filename '%s': js_init_module not found",
                               module_name);
        goto fail;
    }

    m = init(ctx, module_name);
    if (!m) {
        JS_ThrowReferenceError(ctx, "could not load module filename '%s': initialization error",
                               module_name);
    fail:
        if (hd)
            dlclose(hd);
        return NULL;
    }
    return m;
}

static JSModuleDef *module_loader(JSContext *ctx, const char *module_name, void *opaque,
                                  JSValueConst attributes)
{
    size_t len = strlen(module_name);
    if (len > 3 && !strcmp(module_name + len - 3, ".so"))
        return load_native_module(ctx, module_name);
    return js_module_loader(ctx, module_name, opaque, attributes);
}

static int eval_module_file(JSContext *ctx, const char *filename)
{
    size_t len;
    uint8_t *buf = js_load_file(ctx, &len, filename);
    if (!buf) {
        perror(filename);
        return -1;
    }
    int ret = 0;
    JSValue val = JS_Eval(ctx, (const char *)buf, len, filename,
                          JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    js_free(ctx, buf);
    if (!JS_IsException(val)) {
        /* no realpath: import.meta.url is the name as given, the same natively and on WASI */
        if (js_module_set_import_meta(ctx, val, false, true) < 0) {
            js_std_dump_error(ctx);
            JS_FreeValue(ctx, val);
            return -1;
        }
        val = JS_EvalFunction(ctx, val);
    }
    val = js_std_await(ctx, val);
    if (JS_IsException(val)) {
        js_std_dump_error(ctx);
        ret = -1;
    }
    JS_FreeValue(ctx, val);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s script.js [args...]\n", argv[0]);
        return 2;
    }
    JSRuntime *rt = JS_NewRuntime();
    if (!rt) {
        fprintf(stderr, "qjs-dl: cannot allocate the JS runtime\n");
        return 2;
    }
    js_std_init_handlers(rt);
    JS_SetModuleLoaderFunc2(rt, NULL, module_loader, js_module_check_attributes, NULL);
    JSContext *ctx = JS_NewContext(rt);
    if (!ctx) {
        fprintf(stderr, "qjs-dl: cannot allocate the JS context\n");
        return 2;
    }
    js_init_module_std(ctx, "qjs:std");
    js_init_module_os(ctx, "qjs:os");
    js_std_add_helpers(ctx, argc - 1, argv + 1);

    int ret = eval_module_file(ctx, argv[1]);
    if (ret == 0 && js_std_loop(ctx))
        ret = -1;

    js_std_free_handlers(rt);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
    return ret == 0 ? 0 : 1;
}
