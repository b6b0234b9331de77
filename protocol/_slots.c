/* Build instances of plain slotted classes (the frozen packet-body dataclasses) from their
 * field values without running __init__: what object.__new__(cls) and one slot-descriptor
 * __set__ call per field do, in one C call.  The generated body checkers (protocol/checkers.py)
 * build every decoded body and reference this way; through Python-level calls, one per field,
 * that costs more than all the object's checks.  Likewise for named tuples (the
 * judge's verdicts and effects): what tuple.__new__(cls, values) does, without the argument
 * tuple and the intermediate tuple, and untracked by the collector when the collector would
 * untrack it anyway (settle).  protocol/slots.py falls back to those calls when this
 * extension is not built; tests/test_slots.py checks both build equal objects.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#define MAX_FIELDS 16

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    Py_ssize_t count;
    Py_ssize_t offsets[MAX_FIELDS];
} Maker;

static PyObject *
maker_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Maker *maker = (Maker *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *obj;
    Py_ssize_t i;

    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_SetString(PyExc_TypeError, "a maker takes positional field values only");
        return NULL;
    }
    if (nargs != maker->count) {
        PyErr_Format(PyExc_TypeError, "a %.100s maker takes %zd values, not %zd",
                     maker->cls->tp_name, maker->count, nargs);
        return NULL;
    }
    obj = maker->cls->tp_alloc(maker->cls, 0);
    if (obj == NULL) {
        return NULL;
    }
    for (i = 0; i < nargs; i++) {
        PyObject **slot = (PyObject **)((char *)obj + maker->offsets[i]);
        PyObject *old = *slot;
        Py_INCREF(args[i]);
        *slot = args[i];
        Py_XDECREF(old);
    }
    return obj;
}

static void
maker_dealloc(PyObject *self)
{
    Py_XDECREF(((Maker *)self)->cls);
    PyObject_Free(self);
}

static PyTypeObject MakerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "protocol._slots.Maker",
    .tp_basicsize = sizeof(Maker),
    .tp_dealloc = maker_dealloc,
    .tp_vectorcall_offset = offsetof(Maker, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Builds one slotted class's instances from field values (see protocol.slots).",
};

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    Py_ssize_t count;
} TupleMaker;

#define SETTLE_DEPTH 4

/* Untrack the tuple op (and, first, the tuples inside it, SETTLE_DEPTH levels deep) when
 * nothing in it can take part in a reference cycle: what the collector itself does to an exact
 * tuple of untracked items at the first collection that sees it (untrack_tuples), done when the
 * tuple is made, so a long-lived verdict is never scanned.  A tuple subclass qualifies only
 * when its instances are bare tuples (no __dict__, no weakrefs, no extra slots, as named
 * tuples); its instances' only other reference, to their class, cannot close a cycle through
 * an immutable instance the class does not hold.  Returns 1 when op is not (or no longer)
 * tracked. */
static int
settle(PyObject *op, int depth)
{
    Py_ssize_t i;
    PyTypeObject *tp;

    if (!PyObject_IS_GC(op) || !PyObject_GC_IsTracked(op)) {
        return 1;
    }
    tp = Py_TYPE(op);
    if (!PyTuple_Check(op) || depth > SETTLE_DEPTH || tp->tp_dictoffset != 0
            || tp->tp_weaklistoffset != 0 || tp->tp_basicsize != PyTuple_Type.tp_basicsize) {
        return 0;
    }
    for (i = 0; i < PyTuple_GET_SIZE(op); i++) {
        if (!settle(PyTuple_GET_ITEM(op, i), depth + 1)) {
            return 0;
        }
    }
    PyObject_GC_UnTrack(op);
    return 1;
}

static PyObject *
tuple_maker_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    TupleMaker *maker = (TupleMaker *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *obj;
    Py_ssize_t i;

    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_SetString(PyExc_TypeError, "a tuple maker takes positional values only");
        return NULL;
    }
    if (nargs != maker->count) {
        PyErr_Format(PyExc_TypeError, "a %.100s maker takes %zd values, not %zd",
                     maker->cls->tp_name, maker->count, nargs);
        return NULL;
    }
    obj = maker->cls->tp_alloc(maker->cls, nargs);
    if (obj == NULL) {
        return NULL;
    }
    for (i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(obj, i, args[i]);
    }
    settle(obj, 0);
    return obj;
}

/* settle(t) -> t: untrack tuple t as a tuple maker does (see settle above). */
static PyObject *
slots_settle(PyObject *module, PyObject *op)
{
    settle(op, 0);
    Py_INCREF(op);
    return op;
}

static void
tuple_maker_dealloc(PyObject *self)
{
    Py_XDECREF(((TupleMaker *)self)->cls);
    PyObject_Free(self);
}

static PyTypeObject TupleMakerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "protocol._slots.TupleMaker",
    .tp_basicsize = sizeof(TupleMaker),
    .tp_dealloc = tuple_maker_dealloc,
    .tp_vectorcall_offset = offsetof(TupleMaker, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Builds one tuple subclass's instances from their items (see protocol.slots).",
};

/* tuple_maker(cls, count): cls must be a proper subclass of tuple. */
static PyObject *
slots_tuple_maker(PyObject *module, PyObject *args)
{
    PyObject *cls;
    Py_ssize_t count;
    TupleMaker *maker;

    if (!PyArg_ParseTuple(args, "O!n:tuple_maker", &PyType_Type, &cls, &count)) {
        return NULL;
    }
    if (cls == (PyObject *)&PyTuple_Type || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)
            || ((PyTypeObject *)cls)->tp_alloc == NULL || count < 0) {
        PyErr_SetString(PyExc_TypeError, "tuple_maker needs a subclass of tuple and a count");
        return NULL;
    }
    maker = PyObject_New(TupleMaker, &TupleMakerType);
    if (maker == NULL) {
        return NULL;
    }
    maker->vectorcall = tuple_maker_vectorcall;
    maker->count = count;
    Py_INCREF(cls);
    maker->cls = (PyTypeObject *)cls;
    return (PyObject *)maker;
}

/* maker(cls, names): every name must be an object slot that cls itself defines. */
static PyObject *
slots_maker(PyObject *module, PyObject *args)
{
    PyObject *cls, *names;
    Maker *maker;
    Py_ssize_t i, count;

    if (!PyArg_ParseTuple(args, "O!O!:maker", &PyType_Type, &cls, &PyTuple_Type, &names)) {
        return NULL;
    }
    count = PyTuple_GET_SIZE(names);
    if (count > MAX_FIELDS) {
        PyErr_Format(PyExc_ValueError, "at most %d fields", MAX_FIELDS);
        return NULL;
    }
    if (((PyTypeObject *)cls)->tp_alloc == NULL) {
        PyErr_SetString(PyExc_TypeError, "the class has no allocator");
        return NULL;
    }
    maker = PyObject_New(Maker, &MakerType);
    if (maker == NULL) {
        return NULL;
    }
    maker->vectorcall = maker_vectorcall;
    maker->count = count;
    Py_INCREF(cls);
    maker->cls = (PyTypeObject *)cls;
    for (i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        PyObject *descr = PyUnicode_Check(name)
            ? PyDict_GetItemWithError(((PyTypeObject *)cls)->tp_dict, name) : NULL;
        PyMemberDef *member;
        if (descr == NULL || !PyObject_TypeCheck(descr, &PyMemberDescr_Type)
                || ((PyDescrObject *)descr)->d_type != (PyTypeObject *)cls) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "%R is not a slot of %.100s", name,
                             ((PyTypeObject *)cls)->tp_name);
            }
            Py_DECREF(maker);
            return NULL;
        }
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "%R is not a writable object slot", name);
            Py_DECREF(maker);
            return NULL;
        }
        maker->offsets[i] = member->offset;
    }
    return (PyObject *)maker;
}

static PyMethodDef methods[] = {
    {"maker", slots_maker, METH_VARARGS,
     "maker(cls, names) -> callable building cls instances from the values of the slots names"},
    {"settle", slots_settle, METH_O,
     "settle(t) -> t: stop the collector tracking tuple t if nothing in it can form a cycle"},
    {"tuple_maker", slots_tuple_maker, METH_VARARGS,
     "tuple_maker(cls, count) -> callable building instances of tuple subclass cls from count items"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "protocol._slots",
    "Build slotted instances without __init__ (see protocol.slots).", -1, methods,
};

PyMODINIT_FUNC
PyInit__slots(void)
{
    PyObject *mod;
    if (PyType_Ready(&MakerType) < 0 || PyType_Ready(&TupleMakerType) < 0) {
        return NULL;
    }
    mod = PyModule_Create(&module);
    if (mod == NULL) {
        return NULL;
    }
    Py_INCREF(&MakerType);
    if (PyModule_AddObject(mod, "Maker", (PyObject *)&MakerType) < 0) {
        Py_DECREF(&MakerType);
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
