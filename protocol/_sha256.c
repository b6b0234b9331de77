/* SHA-256 of short messages through OpenSSL's digest core, without its per-call EVP setup.
 *
 * hashlib's sha256(m).digest() allocates and initialises an EVP context, copies it again in
 * digest() and frees both: per call, more than the hashing itself costs for the 64- and
 * ~170-byte messages the ingest path hashes on every packet.  This module hashes the concatenation of its arguments with the
 * low-level SHA256_Init/Update/Final of the same libcrypto, on the stack.  protocol/digest.py
 * falls back to hashlib when this extension is not built; tests/test_digest.py checks that
 * both agree with hashlib.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED /* the low-level SHA-256 API is deprecated, not removed */
#include <Python.h>
#include <openssl/sha.h>

static PyObject *
sha256_of(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    SHA256_CTX ctx;
    PyObject *out;
    Py_ssize_t i;

    for (i = 0; i < nargs; i++) {
        if (!PyBytes_Check(args[i])) {
            PyErr_Format(PyExc_TypeError, "sha256() takes bytes, not %.100s",
                         Py_TYPE(args[i])->tp_name);
            return NULL;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, SHA256_DIGEST_LENGTH);
    if (out == NULL) {
        return NULL;
    }
    if (!SHA256_Init(&ctx)) {
        goto fail;
    }
    for (i = 0; i < nargs; i++) {
        if (!SHA256_Update(&ctx, PyBytes_AS_STRING(args[i]), (size_t)PyBytes_GET_SIZE(args[i]))) {
            goto fail;
        }
    }
    if (!SHA256_Final((unsigned char *)PyBytes_AS_STRING(out), &ctx)) {
        goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
    return NULL;
}

static PyMethodDef methods[] = {
    {"sha256", (PyCFunction)(void (*)(void))sha256_of, METH_FASTCALL,
     "sha256(*parts: bytes) -> bytes\n\nSHA-256 of the concatenation of parts (32 bytes)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "protocol._sha256",
    "SHA-256 of short messages without per-call EVP setup (see protocol.digest).", -1, methods,
};

PyMODINIT_FUNC
PyInit__sha256(void)
{
    return PyModule_Create(&module);
}
