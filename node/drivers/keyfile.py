"""The node's identity key on disk: created on first run (mode 0600), optionally encrypted at
rest with a passphrase (scrypt, then ChaCha20-Poly1305, both from ``cryptography``).

File format (binary): ``b"BCMKEY"``, version ``1``, then either ``0`` and the 32-byte Ed25519
seed, or ``1``, the scrypt parameters (salt 16 B, log2 N u8, r u8, p u8), a 12-byte nonce and the
sealed seed (32 B + 16 B tag); the header is the associated data.  Errors are
:class:`KeyFileError`, one readable line.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Final

import nacl.signing
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = ["KeyFileError", "load_or_create", "read_passphrase"]

MAGIC: Final = b"BCMKEY\x01"
PLAIN: Final = 0
SEALED: Final = 1
SALT_LEN: Final = 16
NONCE_LEN: Final = 12
SEED_LEN: Final = 32
SCRYPT_LOG2_N: Final = 15
"""scrypt cost: N = 2**15, r = 8, p = 1 (about 32 MiB and a tenth of a second)."""
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_PLAIN_LEN: Final = len(MAGIC) + 1 + SEED_LEN
_HEADER_LEN: Final = len(MAGIC) + 1 + SALT_LEN + 3 + NONCE_LEN
_SEALED_LEN: Final = _HEADER_LEN + SEED_LEN + 16


class KeyFileError(Exception):
    """The identity key cannot be read or written (one line saying why)."""


def read_passphrase(path: Path) -> bytes:
    """The passphrase in ``path`` (its first line, without the line end)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read the passphrase file {path}: {exc.strerror}") from None
    passphrase = text.splitlines()[0] if text else b""
    if not passphrase:
        raise KeyFileError(f"the passphrase file {path} is empty")
    return passphrase


def _kdf(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase)


def _encode(seed: bytes, passphrase: bytes | None) -> bytes:
    if passphrase is None:
        return MAGIC + bytes((PLAIN,)) + seed
    salt, nonce = secrets.token_bytes(SALT_LEN), secrets.token_bytes(NONCE_LEN)
    header = MAGIC + bytes((SEALED,)) + salt + bytes((SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)) + nonce
    key = _kdf(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    return header + ChaCha20Poly1305(key).encrypt(nonce, seed, header)


def _decode(path: Path, data: bytes, passphrase: bytes | None) -> bytes:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 1:
        raise KeyFileError(f"{path} is not a bitcraps identity key file")
    mode = data[len(MAGIC)]
    if mode == PLAIN and len(data) == _PLAIN_LEN:
        if passphrase is not None:
            raise KeyFileError(
                f"the identity key {path} is not encrypted: run without --passphrase-file"
            )
        return data[len(MAGIC) + 1 :]
    if mode != SEALED or len(data) != _SEALED_LEN:
        raise KeyFileError(f"{path} is not a bitcraps identity key file (damaged?)")
    if passphrase is None:
        raise KeyFileError(f"the identity key {path} is encrypted: give --passphrase-file")
    at = len(MAGIC) + 1
    salt = data[at : at + SALT_LEN]
    log2_n, r, p = data[at + SALT_LEN : at + SALT_LEN + 3]
    nonce = data[at + SALT_LEN + 3 : _HEADER_LEN]
    if not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise KeyFileError(f"{path} names scrypt parameters out of range (damaged?)")
    key = _kdf(passphrase, salt, log2_n, r, p)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, data[_HEADER_LEN:], data[:_HEADER_LEN])
    except InvalidTag:
        raise KeyFileError(f"wrong passphrase for the identity key {path}") from None


def load_or_create(
    path: Path, passphrase: bytes | None = None
) -> tuple[nacl.signing.SigningKey, bool]:
    """The identity key at ``path``, created (mode 0600) if there is none; and whether it was
    created now."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise KeyFileError(f"cannot read the identity key {path}: {exc.strerror}") from None
    else:
        return nacl.signing.SigningKey(_decode(path, data, passphrase)), False
    seed = secrets.token_bytes(SEED_LEN)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by someone else: read theirs
        return load_or_create(path, passphrase)
    except OSError as exc:
        raise KeyFileError(f"cannot create the identity key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(_encode(seed, passphrase))
        out.flush()
        os.fsync(out.fileno())
    return nacl.signing.SigningKey(seed), True
