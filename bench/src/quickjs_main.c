/* The QuickJS benchmark's main (bench/src/real.rs), built -fPIC against libqjs.so (the
 * quickjs-ng engine, PIC) and linked -shared with wasip2's crt1-command.o:
 *
 *   main          returns at once: the dynamic linker's work alone (libc.so and libqjs.so are
 *                 placed and relocated before _start; fib.so is only dl-openable);
 *   main hello    makes a runtime and a context, evaluates a JavaScript expression, prints the
 *                 string it returns and frees everything: the first useful output.
 */
#include <stdio.h>
#include <string.h>
#include "quickjs.h"
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "hello") == 0) {
        JSRuntime *rt = JS_NewRuntime();
        JSContext *ctx = JS_NewContext(rt);
        const char *code = "['hello', 'from', 'QuickJS'].join(' ')";
        JSValue v = JS_Eval(ctx, code, strlen(code), "<bench>", JS_EVAL_TYPE_GLOBAL);
        const char *s = JS_ToCString(ctx, v);
        int status = s ? 0 : 1;
        if (s) {
            puts(s);
            JS_FreeCString(ctx, s);
        }
        JS_FreeValue(ctx, v);
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
        return status;
    }
    return 0;
}
