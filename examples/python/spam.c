/* `spam`: a C extension module for the embedded CPython (stable ABI, multi-phase initialization,
 * per-module state), imported from a file `spam.abi3.so` that CPython opens with dlopen() and
 * dlsym(handle, "PyInit_spam").
 *
 * Python calls C (add, divide, count, ...), C calls Python (apply, fire, sorted_by: libc's qsort
 * calls a comparator here that calls a Python key function; log: C -> Python -> the embedding
 * program's C), and C raises exceptions (its own spam.error, ZeroDivisionError, TypeError) or
 * catches them (safe_call).
 */
#include <stdlib.h>
#include <string.h>

#include "py-abi.h"

typedef struct {
    long counter;       /* count() */
    PyObject *error;    /* spam.error */
    PyObject *callback; /* set_callback() */
} spam_state;

static int constructed; /* set by the library's constructor, at dlopen */

__attribute__((constructor)) static void spam_constructor(void) { constructed = 42; }

static spam_state *state(PyObject *module) { return (spam_state *)PyModule_GetState(module); }

static PyObject *none(void) {
    Py_IncRef(Py_None);
    return Py_None;
}

/* add(a, b) -> a + b */
static PyObject *spam_add(PyObject *self, PyObject *args) {
    (void)self;
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b))
        return NULL;
    return PyLong_FromLong(a + b);
}

/* divide(a, b) -> a // b; ZeroDivisionError for b == 0, spam.error for a < 0 */
static PyObject *spam_divide(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b))
        return NULL;
    if (b == 0) {
        PyErr_SetString(PyExc_ZeroDivisionError, "spam.divide by zero");
        return NULL;
    }
    if (a < 0)
        return PyErr_Format(state(self)->error, "negative dividend %ld", a);
    return PyLong_FromLong(a / b);
}

/* count() -> how often count() was called on this module object */
static PyObject *spam_count(PyObject *self, PyObject *unused) {
    (void)unused;
    return PyLong_FromLong(++state(self)->counter);
}

/* apply(f, x) -> f(x) */
static PyObject *spam_apply(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *f, *x;
    if (!PyArg_ParseTuple(args, "OO", &f, &x))
        return NULL;
    return PyObject_CallFunctionObjArgs(f, x, NULL);
}

/* set_callback(f): kept in the module state */
static PyObject *spam_set_callback(PyObject *self, PyObject *f) {
    if (!PyCallable_Check(f)) {
        PyErr_SetString(PyExc_TypeError, "set_callback needs a callable");
        return NULL;
    }
    spam_state *st = state(self);
    Py_IncRef(f);
    if (st->callback)
        Py_DecRef(st->callback);
    st->callback = f;
    return none();
}

/* fire(x) -> callback(x, count) */
static PyObject *spam_fire(PyObject *self, PyObject *x) {
    spam_state *st = state(self);
    if (!st->callback)
        return PyErr_Format(st->error, "no callback set");
    PyObject *n = PyLong_FromLong(st->counter);
    PyObject *r = PyObject_CallFunctionObjArgs(st->callback, x, n, NULL);
    Py_DecRef(n);
    return r;
}

/* safe_call(f) -> f(), or the text "caught ValueError: <message>" when f raises ValueError */
static PyObject *spam_safe_call(PyObject *self, PyObject *f) {
    (void)self;
    PyObject *r = PyObject_CallObject(f, NULL);
    if (r || !PyErr_ExceptionMatches(PyExc_ValueError))
        return r;
    PyErr_Clear();
    return PyUnicode_FromString("caught ValueError");
}

/* sorted_by(list, key) -> a new list sorted by key(item), with libc's qsort. The comparator runs
 * inside qsort (in libc) and calls back into Python; an exception stops the comparisons. */
static PyObject *sort_key;
static int sort_failed;

static int compare(const void *pa, const void *pb) {
    if (sort_failed)
        return 0;
    PyObject *a = *(PyObject *const *)pa, *b = *(PyObject *const *)pb;
    PyObject *ka = PyObject_CallFunctionObjArgs(sort_key, a, NULL);
    PyObject *kb = ka ? PyObject_CallFunctionObjArgs(sort_key, b, NULL) : NULL;
    int r = 0;
    if (!ka || !kb) {
        sort_failed = 1;
    } else {
        int lt = PyObject_RichCompareBool(ka, kb, Py_LT);
        int gt = lt == 0 ? PyObject_RichCompareBool(kb, ka, Py_LT) : 0;
        if (lt < 0 || gt < 0)
            sort_failed = 1;
        r = lt > 0 ? -1 : gt > 0 ? 1 : 0;
    }
    if (ka)
        Py_DecRef(ka);
    if (kb)
        Py_DecRef(kb);
    return r;
}

static PyObject *spam_sorted_by(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *list, *key;
    if (!PyArg_ParseTuple(args, "OO", &list, &key))
        return NULL;
    Py_ssize_t n = PyList_Size(list);
    if (n < 0)
        return NULL;
    PyObject **items = malloc(sizeof(PyObject *) * (n ? n : 1));
    for (Py_ssize_t i = 0; i < n; i++)
        items[i] = PyList_GetItem(list, i);
    sort_key = key;
    sort_failed = 0;
    qsort(items, n, sizeof(PyObject *), compare);
    PyObject *out = NULL;
    if (!sort_failed) {
        out = PyList_New(n);
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_IncRef(items[i]);
            PyList_SetItem(out, i, items[i]);
        }
    }
    free(items);
    return out;
}

/* log(text): host.log("spam: " + text), i.e. C here -> Python -> C in the embedding program */
static PyObject *spam_log(PyObject *self, PyObject *arg) {
    (void)self;
    const char *text = PyUnicode_AsUTF8AndSize(arg, NULL);
    if (!text)
        return NULL;
    PyObject *host = PyImport_ImportModule("host");
    if (!host)
        return NULL;
    PyObject *log = PyObject_GetAttrString(host, "log");
    Py_DecRef(host);
    if (!log)
        return NULL;
    PyObject *line = PyUnicode_FromFormat("spam: %s (%zu bytes)", text, strlen(text));
    PyObject *r = line ? PyObject_CallFunctionObjArgs(log, line, NULL) : NULL;
    if (line)
        Py_DecRef(line);
    Py_DecRef(log);
    return r;
}

/* constructed() -> what the library constructor stored (42) */
static PyObject *spam_constructed(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromLong(constructed);
}

static PyMethodDef spam_methods[] = {
    {"add", spam_add, METH_VARARGS, "a + b"},
    {"divide", spam_divide, METH_VARARGS, "a // b"},
    {"count", spam_count, METH_NOARGS, "per-module call counter"},
    {"apply", spam_apply, METH_VARARGS, "f(x)"},
    {"set_callback", spam_set_callback, METH_O, "store a callable"},
    {"fire", spam_fire, METH_O, "callback(x, count)"},
    {"safe_call", spam_safe_call, METH_O, "f(), ValueError caught"},
    {"sorted_by", spam_sorted_by, METH_VARARGS, "sorted with qsort"},
    {"log", spam_log, METH_O, "host.log from C"},
    {"constructed", spam_constructed, METH_NOARGS, "set by the constructor"},
    {NULL, NULL, 0, NULL},
};

static int spam_exec(PyObject *module) {
    spam_state *st = state(module);
    st->counter = 0;
    st->callback = NULL;
    st->error = PyErr_NewException("spam.error", NULL, NULL);
    if (!st->error || PyModule_AddObjectRef(module, "error", st->error) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "ANSWER", 42) < 0 ||
        PyModule_AddStringConstant(module, "greeting", "hello from spam.c") < 0)
        return -1;
    return 0;
}

static int spam_traverse(PyObject *module, visitproc visit, void *arg) {
    spam_state *st = state(module);
    if (st && st->error) {
        int r = visit(st->error, arg);
        if (r)
            return r;
    }
    if (st && st->callback)
        return visit(st->callback, arg);
    return 0;
}

static int spam_clear(PyObject *module) {
    spam_state *st = state(module);
    if (st && st->error) {
        Py_DecRef(st->error);
        st->error = NULL;
    }
    if (st && st->callback) {
        Py_DecRef(st->callback);
        st->callback = NULL;
    }
    return 0;
}

static void spam_free(void *module) { spam_clear((PyObject *)module); }

static PyModuleDef_Slot spam_slots[] = {
    {Py_mod_exec, (void *)spam_exec},
    {0, NULL},
};

static PyModuleDef spam_module = {
    PyModuleDef_HEAD_INIT,
    "spam",
    "a C extension module",
    sizeof(spam_state),
    spam_methods,
    spam_slots,
    spam_traverse,
    spam_clear,
    spam_free,
};

PyObject *PyInit_spam(void) { return PyModuleDef_Init(&spam_module); }
