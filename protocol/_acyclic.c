/* untracked(obj): stop the cycle collector tracking ``obj`` and return it.
 *
 * CPython's collector visits every tracked container it has not yet promoted out of the
 * young generation, and every one in the older generations each time those are collected.
 * Most of what a node keeps per judged packet is immutable values built from plain values
 * and other such values: they can never be part of a reference cycle, so reference counting
 * alone frees them, exactly as CPython already assumes for a tuple of atomic values (which it
 * untracks itself, but only after scanning it once).  ``untracked`` also untracks the tuples
 * the object holds, and the tuples those hold (a record's key and flat fields).
 * protocol/acyclic.py says which objects may be passed here, and falls back to the identity
 * when this extension is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_DEPTH 16

/* Untrack a tuple and, depth-limited, the tuples it holds. */
static int
untrack_tuple(PyObject *obj, void *depth)
{
    Py_ssize_t i, size;
    int next = (int)(Py_intptr_t)depth + 1;

    if (!PyTuple_CheckExact(obj)) {
        return 0;
    }
    PyObject_GC_UnTrack(obj);
    if (next > MAX_DEPTH) {
        return 0;
    }
    size = PyTuple_GET_SIZE(obj);
    for (i = 0; i < size; i++) {
        untrack_tuple(PyTuple_GET_ITEM(obj, i), (void *)(Py_intptr_t)next);
    }
    return 0;
}

static PyObject *
untracked(PyObject *module, PyObject *obj)
{
    if (PyTuple_CheckExact(obj)) {
        untrack_tuple(obj, (void *)0);
    }
    else if (PyObject_IS_GC(obj)) {
        PyObject_GC_UnTrack(obj);
        /* the tuples its fields hold: visited through its own traverse function */
        Py_TYPE(obj)->tp_traverse(obj, untrack_tuple, (void *)0);
    }
    return Py_NewRef(obj);
}

static PyMethodDef methods[] = {
    {"untracked", (PyCFunction)untracked, METH_O,
     "untracked(obj) -> obj\n\nStop the cycle collector tracking obj and the tuples it holds "
     "(none of which may ever be part of a reference cycle) and return obj."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "protocol._acyclic",
    "Untrack values that can never be part of a reference cycle (see protocol.acyclic).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__acyclic(void)
{
    return PyModule_Create(&module);
}
