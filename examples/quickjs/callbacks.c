/* callbacks.so: a native QuickJS module of ours (not from quickjs-ng) for what fib.c and point.c do
 * not exercise: a library that calls back into JS (JS_Call through the engine in the main module),
 * keeps state in its own data, writes to main's libc `stdout` (a data symbol the library imports
 * through GOT.mem) and reads libc's `errno`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "quickjs.h"

#define countof(x) (sizeof(x) / sizeof((x)[0]))

static int calls;

/* apply(f, ...args): f(...args), counting calls. */
static JSValue js_apply(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    calls++;
    if (argc < 1 || !JS_IsFunction(ctx, argv[0]))
        return JS_ThrowTypeError(ctx, "apply: not a function");
    return JS_Call(ctx, argv[0], JS_UNDEFINED, argc - 1, argv + 1);
}

static JSValue js_calls(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    (void)argc;
    (void)argv;
    return JS_NewInt32(ctx, calls);
}

/* say(s): prints through the C library's stdout, shared with console.log. */
static JSValue js_say(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    (void)argc;
    const char *s = JS_ToCString(ctx, argv[0]);
    if (!s)
        return JS_EXCEPTION;
    fprintf(stdout, "callbacks.so says: %s\n", s);
    fflush(stdout);
    JS_FreeCString(ctx, s);
    return JS_UNDEFINED;
}

/* enoent(): errno set by a failing libc call in the library, as text. */
static JSValue js_enoent(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    (void)argc;
    (void)argv;
    errno = 0;
    FILE *f = fopen("/no/such/file", "r");
    if (f) {
        fclose(f);
        return JS_NewString(ctx, "opened?");
    }
    return JS_NewString(ctx, errno == ENOENT ? "ENOENT" : strerror(errno));
}

/* A C closure made at run time: JS_NewCFunctionData with data owned by the engine. */
static JSValue js_adder_call(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                             int magic, JSValueConst *data)
{
    (void)this_val;
    (void)argc;
    (void)magic;
    int a, b;
    if (JS_ToInt32(ctx, &a, data[0]) || JS_ToInt32(ctx, &b, argv[0]))
        return JS_EXCEPTION;
    return JS_NewInt32(ctx, a + b);
}

static JSValue js_adder(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    (void)argc;
    return JS_NewCFunctionData(ctx, js_adder_call, 1, 0, 1, argv);
}

static const JSCFunctionListEntry js_callbacks_funcs[] = {
    JS_CFUNC_DEF("apply", 1, js_apply),
    JS_CFUNC_DEF("calls", 0, js_calls),
    JS_CFUNC_DEF("say", 1, js_say),
    JS_CFUNC_DEF("enoent", 0, js_enoent),
    JS_CFUNC_DEF("adder", 1, js_adder),
};

static int js_callbacks_init(JSContext *ctx, JSModuleDef *m)
{
    return JS_SetModuleExportList(ctx, m, js_callbacks_funcs, countof(js_callbacks_funcs));
}

JS_MODULE_EXTERN JSModuleDef *js_init_module(JSContext *ctx, const char *module_name)
{
    JSModuleDef *m = JS_NewCModule(ctx, module_name, js_callbacks_init);
    if (!m)
        return NULL;
    JS_AddModuleExportList(ctx, m, js_callbacks_funcs, countof(js_callbacks_funcs));
    return m;
}
