/* untracked(obj): stop the cycle collector tracking ``obj`` and return it.
 *
 * CPython's collector visits every tracked container it has not yet promoted out of the
 * young generation, and every one in the older generations each time those are collected.
 * Most of what a node keeps per judged packet is immutable values built from plain values
 * and other such values: they can never be part of a reference cycle, so reference counting
 * alone frees them, exactly as CPython already assumes for a tuple of atomic values (which it
 * untracks itself).  protocol/acyclic.py says which objects may be passed here, and falls
 * back to the identity when this extension is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
untracked(PyObject *module, PyObject *obj)
{
    if (PyObject_IS_GC(obj)) {
        PyObject_GC_UnTrack(obj);
    }
    return Py_NewRef(obj);
}

static PyMethodDef methods[] = {
    {"untracked", (PyCFunction)untracked, METH_O,
     "untracked(obj) -> obj\n\nStop the cycle collector tracking obj (which must never be part "
     "of a reference cycle) and return it."},
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
