/* setjmp/longjmp across libraries: the one __c_longjmp tag and wasm-dl's setjmp runtime.
 * 1. main setjmps; a library longjmps to it through the frames of a second library.
 * 2. a library setjmps; main's callback, called from another library's frame, longjmps to it.
 * 3. nested setjmps in main: longjmp to the outer one skips the inner. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdio.h>

typedef void (*jump_fn)(jmp_buf, int);
typedef int (*through_fn)(jump_fn, jmp_buf, int);
typedef int (*catch_fn)(void (*)(jmp_buf, int));

static jmp_buf to_main;

static void main_jump(jmp_buf b, int v)
{
    printf("main: longjmp(%d) to the library's setjmp\n", v);
    longjmp(b, v);
}

int main(void)
{
    void *jump = dlopen("libjump.so", RTLD_NOW);
    void *through = dlopen("libthrough.so", RTLD_NOW);
    if (!jump || !through) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    jump_fn lib_jump = (jump_fn)dlsym(jump, "jump_jump");
    through_fn lib_through = (through_fn)dlsym(through, "through_call");
    catch_fn lib_catch = (catch_fn)dlsym(jump, "jump_catch");

    int r = setjmp(to_main);
    if (r == 0) {
        printf("main: setjmp returned 0\n");
        lib_through(lib_jump, to_main, 42);
        printf("main: not reached\n");
    }
    printf("main: back from libjump through libthrough, setjmp returned %d\n", r);

    printf("main: libjump caught %d\n", lib_catch(main_jump));

    jmp_buf outer, inner;
    volatile int steps = 0;
    if ((r = setjmp(outer)) == 0) {
        steps++;
        if (setjmp(inner) == 0) {
            steps++;
            lib_through(lib_jump, outer, 0);
        }
        printf("main: not reached (inner)\n");
    }
    printf("main: outer setjmp returned %d after %d steps (longjmp(0) gives 1)\n", r, steps);
    return 0;
}
