/* The part of CPython's C API that main.c and spam.c use, declared by hand.
 *
 * componentize-py's wheel ships libpython3.14.so but no headers, and no registry package carries
 * CPython 3.14 headers for wasm32-wasi. Everything here is in CPython's stable ABI (PEP 384, the
 * `abi3` functions and structures), so the same declarations hold for this machine's CPython 3.11
 * (the native reference build, x86_64) and for componentize-py's CPython 3.14 (wasm32): the
 * structures below have the same layout in every 3.x release, and reference counts are changed
 * only through the Py_IncRef/Py_DecRef functions (never by touching ob_refcnt, whose meaning
 * changed with immortal objects in 3.12).
 */
#ifndef PY_ABI_H
#define PY_ABI_H

#include <stddef.h>
#include <sys/types.h>

typedef ssize_t Py_ssize_t;

/* PyObject_HEAD: a reference count and a type pointer (3.14 on 32-bit targets: the same). Only
 * static PyModuleDefs are ever laid out here; every other object is opaque. */
typedef struct _object {
    Py_ssize_t ob_refcnt;
    void *ob_type;
} PyObject;

typedef PyObject *(*PyCFunction)(PyObject *self, PyObject *args);
typedef int (*visitproc)(PyObject *, void *);
typedef int (*traverseproc)(PyObject *, visitproc, void *);
typedef int (*inquiry)(PyObject *);
typedef void (*freefunc)(void *);

typedef struct PyMethodDef {
    const char *ml_name;
    PyCFunction ml_meth;
    int ml_flags;
    const char *ml_doc;
} PyMethodDef;

#define METH_VARARGS 0x0001
#define METH_NOARGS 0x0004
#define METH_O 0x0008

typedef struct PyModuleDef_Base {
    PyObject ob_base;
    PyObject *(*m_init)(void);
    Py_ssize_t m_index;
    PyObject *m_copy;
} PyModuleDef_Base;

/* Reference count 1, no type: what PyModuleDef_HEAD_INIT has always meant for the stable ABI. */
#define PyModuleDef_HEAD_INIT {{1, NULL}, NULL, 0, NULL}

typedef struct PyModuleDef_Slot {
    int slot;
    void *value;
} PyModuleDef_Slot;

#define Py_mod_exec 2

typedef struct PyModuleDef {
    PyModuleDef_Base m_base;
    const char *m_name;
    const char *m_doc;
    Py_ssize_t m_size;
    PyMethodDef *m_methods;
    PyModuleDef_Slot *m_slots;
    traverseproc m_traverse;
    inquiry m_clear;
    freefunc m_free;
} PyModuleDef;

#define PYTHON_API_VERSION 1013
#define Py_file_input 257

/* Exported data. */
extern PyObject _Py_NoneStruct;
extern PyObject *PyExc_Exception, *PyExc_ValueError, *PyExc_TypeError, *PyExc_ZeroDivisionError,
    *PyExc_ImportError;
#define Py_None (&_Py_NoneStruct)

/* Life cycle. */
void Py_Initialize(void);
int Py_FinalizeEx(void);

/* References. */
void Py_IncRef(PyObject *);
void Py_DecRef(PyObject *);

/* Errors. */
PyObject *PyErr_Occurred(void);
void PyErr_Print(void);
void PyErr_Clear(void);
void PyErr_SetString(PyObject *type, const char *message);
PyObject *PyErr_Format(PyObject *type, const char *format, ...);
int PyErr_ExceptionMatches(PyObject *type);
PyObject *PyErr_NewException(const char *name, PyObject *base, PyObject *dict);

/* Modules and import. */
PyObject *PyModule_Create2(PyModuleDef *def, int apiver);
PyObject *PyModuleDef_Init(PyModuleDef *def);
void *PyModule_GetState(PyObject *module);
PyObject *PyModule_GetDict(PyObject *module);
int PyModule_AddObjectRef(PyObject *module, const char *name, PyObject *value);
int PyModule_AddIntConstant(PyObject *module, const char *name, long value);
int PyModule_AddStringConstant(PyObject *module, const char *name, const char *value);
PyObject *PyImport_AddModule(const char *name);
PyObject *PyImport_ImportModule(const char *name);
PyObject *PyImport_GetModuleDict(void);

/* Running code. */
PyObject *Py_CompileString(const char *source, const char *filename, int start);
PyObject *PyEval_EvalCode(PyObject *code, PyObject *globals, PyObject *locals);

/* Objects. */
PyObject *PyObject_GetAttrString(PyObject *o, const char *name);
PyObject *PyObject_CallObject(PyObject *callable, PyObject *args);
PyObject *PyObject_CallFunctionObjArgs(PyObject *callable, ...);
PyObject *PyObject_GetIter(PyObject *o);
PyObject *PyIter_Next(PyObject *iter);
PyObject *PyObject_Repr(PyObject *o);
int PyObject_RichCompareBool(PyObject *a, PyObject *b, int op);
int PyCallable_Check(PyObject *o);
#define Py_LT 0
#define Py_EQ 2

PyObject *PyLong_FromLong(long v);
long PyLong_AsLong(PyObject *o);
PyObject *PyBool_FromLong(long v);
PyObject *PyUnicode_FromString(const char *s);
PyObject *PyUnicode_FromFormat(const char *format, ...);
const char *PyUnicode_AsUTF8AndSize(PyObject *o, Py_ssize_t *size);
PyObject *PyList_New(Py_ssize_t size);
int PyList_Append(PyObject *list, PyObject *item);
Py_ssize_t PyList_Size(PyObject *list);
PyObject *PyList_GetItem(PyObject *list, Py_ssize_t i);
int PyList_SetItem(PyObject *list, Py_ssize_t i, PyObject *item);
int PyDict_SetItemString(PyObject *dict, const char *key, PyObject *value);
PyObject *PyDict_GetItemString(PyObject *dict, const char *key);

PyObject *Py_BuildValue(const char *format, ...);
int PyArg_ParseTuple(PyObject *args, const char *format, ...);

/* sys. */
int PySys_SetObject(const char *name, PyObject *value);
void PySys_WriteStdout(const char *format, ...);

#endif
