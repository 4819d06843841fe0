/* A program that embeds CPython through its C API (the stable ABI, declared in py-abi.h).
 *
 *   main SCRIPT [ARG...]
 *
 * Starts the interpreter (PYTHONHOME / PYTHONPATH from the environment, as Py_Initialize reads
 * them), adds a built-in module `host` whose functions are C functions of this program, runs
 * SCRIPT as __main__ with sys.argv = [SCRIPT, ARG...], then calls the script's `on_exit(name)`
 * from C and prints what it returns. Everything is printed through sys.stdout (PySys_WriteStdout),
 * so that C and Python output stay in order whatever the buffering.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py-abi.h"

static long host_calls;

/* host.log(text): prints "host: <text>" from C. */
static PyObject *host_log(PyObject *self, PyObject *arg) {
    (void)self;
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(arg, &n);
    if (!text)
        return NULL;
    host_calls++;
    PySys_WriteStdout("host: %s\n", text);
    Py_IncRef(Py_None);
    return Py_None;
}

/* host.twice(f, x): f(f(x)), called from C. */
static PyObject *host_twice(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *f, *x;
    if (!PyArg_ParseTuple(args, "OO", &f, &x))
        return NULL;
    host_calls++;
    PyObject *once = PyObject_CallFunctionObjArgs(f, x, NULL);
    if (!once)
        return NULL;
    PyObject *result = PyObject_CallFunctionObjArgs(f, once, NULL);
    Py_DecRef(once);
    return result;
}

/* host.calls(): how many host functions have been called. */
static PyObject *host_calls_fn(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromLong(host_calls);
}

static PyMethodDef host_methods[] = {
    {"log", host_log, METH_O, "print a line from C"},
    {"twice", host_twice, METH_VARARGS, "f(f(x))"},
    {"calls", host_calls_fn, METH_NOARGS, "number of host calls"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef host_module = {
    PyModuleDef_HEAD_INIT, "host", "functions of the embedding program", -1, host_methods,
    NULL, NULL, NULL, NULL,
};

/* The whole file, NUL-terminated, or NULL. */
static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

static int run(int argc, char **argv) {
    PyObject *host = PyModule_Create2(&host_module, PYTHON_API_VERSION);
    if (!host || PyDict_SetItemString(PyImport_GetModuleDict(), "host", host) < 0)
        return -1;
    Py_DecRef(host);

    PyObject *sys_argv = PyList_New(0);
    for (int i = 1; i < argc; i++) {
        PyObject *s = PyUnicode_FromString(argv[i]);
        PyList_Append(sys_argv, s);
        Py_DecRef(s);
    }
    PySys_SetObject("argv", sys_argv);
    Py_DecRef(sys_argv);

    char *source = read_file(argv[1]);
    if (!source) {
        fprintf(stderr, "main: cannot read %s\n", argv[1]);
        return -1;
    }
    PyObject *code = Py_CompileString(source, argv[1], Py_file_input);
    free(source);
    if (!code)
        return -1;
    PyObject *globals = PyModule_GetDict(PyImport_AddModule("__main__"));
    PyObject *file = PyUnicode_FromString(argv[1]);
    PyDict_SetItemString(globals, "__file__", file);
    Py_DecRef(file);
    PyObject *result = PyEval_EvalCode(code, globals, globals);
    Py_DecRef(code);
    if (!result)
        return -1;
    Py_DecRef(result);

    /* C calls back into the script. */
    PyObject *on_exit = PyDict_GetItemString(globals, "on_exit");
    if (on_exit && PyCallable_Check(on_exit)) {
        PyObject *arg = PyUnicode_FromString("main.c");
        PyObject *r = PyObject_CallFunctionObjArgs(on_exit, arg, NULL);
        Py_DecRef(arg);
        if (!r)
            return -1;
        PyObject *repr = PyObject_Repr(r);
        Py_DecRef(r);
        if (!repr)
            return -1;
        PySys_WriteStdout("main: on_exit returned %s after %ld host calls\n",
                          PyUnicode_AsUTF8AndSize(repr, NULL), host_calls);
        Py_DecRef(repr);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARG...]\n", argv[0]);
        return 2;
    }
    Py_Initialize();
    int status = 0;
    if (run(argc, argv) < 0) {
        if (PyErr_Occurred())
            PyErr_Print();
        status = 1;
    }
    if (Py_FinalizeEx() < 0)
        status = 120;
    return status;
}
