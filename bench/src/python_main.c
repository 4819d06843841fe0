/* The CPython benchmark's main (bench/src/real.rs), built -fPIC and linked -shared with wasip2's
 * crt1-command.o, as examples/python/main.c is:
 *
 *   main          returns at once: what is measured is the dynamic linker's work alone (libc.so,
 *                 libpython3.14.so and the emulated libraries main's imports need are placed and
 *                 relocated before _start; the extension module is only dl-openable);
 *   main hello    starts CPython (PYTHONHOME from the environment), runs `print(...)` in Python
 *                 and finalizes: the start-up of the first useful output.
 */
#include <string.h>

void Py_Initialize(void);
int Py_FinalizeEx(void);
int PyRun_SimpleStringFlags(const char *command, void *flags);

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "hello") == 0) {
        Py_Initialize();
        int status = PyRun_SimpleStringFlags("print('hello from CPython')", 0) == 0 ? 0 : 1;
        if (Py_FinalizeEx() < 0)
            status = 120;
        return status;
    }
    return 0;
}
