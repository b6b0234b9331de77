/* SHA-256 of short messages through OpenSSL's EVP interface, with one digest context reused.
 *
 * hashlib's sha256(m).digest() creates, initialises (fetching the algorithm) and copies an EVP
 * context on every call, which costs more than hashing the 64- and ~170-byte messages the
 * ingest path hashes on every packet (docs/BUILD.md).  This module initialises one context for
 * SHA-256 when it is imported and re-initialises it per call without a new fetch
 * (EVP_DigestInit_ex with no type keeps the context's digest).  Every call holds the GIL from
 * start to end, so the one context is never used twice at once.  protocol/hashing.py falls
 * back to hashlib when this extension is not built; tests/test_hashing.py checks that both
 * agree with hashlib.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/evp.h>

#define SHA256_BYTES 32

static EVP_MD_CTX *context;

static PyObject *
sha256_of(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    Py_ssize_t i;

    for (i = 0; i < nargs; i++) {
        if (!PyBytes_Check(args[i])) {
            PyErr_Format(PyExc_TypeError, "sha256() takes bytes, not %.100s",
                         Py_TYPE(args[i])->tp_name);
            return NULL;
        }
    }
    if (!EVP_DigestInit_ex(context, NULL, NULL)) {
        goto fail;
    }
    for (i = 0; i < nargs; i++) {
        if (!EVP_DigestUpdate(context, PyBytes_AS_STRING(args[i]),
                              (size_t)PyBytes_GET_SIZE(args[i]))) {
            goto fail;
        }
    }
    if (!EVP_DigestFinal_ex(context, out, &size) || size != SHA256_BYTES) {
        goto fail;
    }
    return PyBytes_FromStringAndSize((const char *)out, SHA256_BYTES);
fail:
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
    "SHA-256 of short messages with one reused EVP context (see protocol.hashing).", -1, methods,
};

PyMODINIT_FUNC
PyInit__sha256(void)
{
    if (context == NULL) {
        context = EVP_MD_CTX_new();
        if (context == NULL || !EVP_DigestInit_ex(context, EVP_sha256(), NULL)) {
            EVP_MD_CTX_free(context);
            context = NULL;
            PyErr_SetString(PyExc_ImportError, "OpenSSL SHA-256 is not available");
            return NULL;
        }
    }
    return PyModule_Create(&module);
}
