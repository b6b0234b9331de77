"""Signature checks: ``signatures_valid`` (libsodium through PyNaCl's cffi module, one buffer per
batch) gives exactly PyNaCl's ``VerifyKey.verify`` verdict on every envelope of a batch, as does
its fallback through PyNaCl's public wrapper, and ``Envelope.frame`` rebuilds the frame bytes
for any TTL."""

from __future__ import annotations

import nacl.bindings
import nacl.exceptions
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.constants import SIGNATURE_LEN, ZERO_PREV
from protocol.frame import Envelope, FrameCodec, signatures_valid
from protocol.genesis import LOCAL
from protocol.kinds import Transfer

CODEC = FrameCodec(LOCAL.network_id)
KEYS = [nacl.signing.SigningKey(bytes([i]) * 32) for i in range(1, 4)]


def _pynacl(env: Envelope) -> bool:
    try:
        nacl.signing.VerifyKey(env.sender).verify(env.signed, env.signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def _frames(amounts: list[int]) -> list[bytes]:
    return [
        CODEC.seal(
            KEYS[i % len(KEYS)], 1, ZERO_PREV, Transfer(bytes(KEYS[0].verify_key), amount, ())
        )
        for i, amount in enumerate(amounts)
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=12),
    st.data(),
)
def test_batch_verdicts_equal_pynacl_for_good_and_damaged_signatures(
    amounts: list[int], data: st.DataObject
) -> None:
    envelopes = [CODEC.open(frame) for frame in _frames(amounts)]
    damaged = []
    for env in envelopes:
        flip = data.draw(st.integers(min_value=-1, max_value=SIGNATURE_LEN * 8 - 1))
        if flip < 0:
            damaged.append(env)
            continue
        sig = bytearray(env.signature)  # one bit of the signature flipped (R or S)
        sig[flip // 8] ^= 1 << (flip % 8)
        damaged.append(CODEC.open(env.frame()[:-SIGNATURE_LEN] + bytes(sig)))
    verdicts = signatures_valid(damaged)
    assert verdicts == [_pynacl(env) for env in damaged]
    assert verdicts == [
        env.signature == orig.signature for env, orig in zip(damaged, envelopes, strict=True)
    ]


def test_empty_batch_and_single_checks_agree() -> None:
    assert signatures_valid([]) == []
    env = CODEC.open(_frames([5])[0])
    FrameCodec.verify(env)  # no error
    assert signatures_valid([env, env]) == [True, True]


def test_non_canonical_s_is_refused_as_libsodium_refuses_it() -> None:
    """S + L (the group order) verifies in lax implementations; libsodium refuses it."""
    env = CODEC.open(_frames([7])[0])
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(env.signature[32:], "little") + order
    if s >= 1 << 256:  # pragma: no cover - cannot happen for a canonical S
        pytest.skip("S + L does not fit")
    forged = env.signature[:32] + s.to_bytes(32, "little")
    bad = CODEC.open(env.frame()[:-SIGNATURE_LEN] + forged)
    assert signatures_valid([bad]) == [False] == [_pynacl(bad)]


@given(st.integers(min_value=0, max_value=255))
def test_frame_is_rebuilt_for_any_ttl(ttl: int) -> None:
    frame = _frames([9])[0]
    env = CODEC.open(frame)
    rebuilt = env.frame(ttl)
    assert rebuilt[0] == frame[0] and rebuilt[1] == ttl and rebuilt[2:] == frame[2:]
    assert env.frame() == frame
    # an envelope built without the received bytes rebuilds the same frame
    env.raw = None
    assert env.frame(ttl) == rebuilt
    assert env.frame() == frame


@pytest.mark.parametrize("ttl", [-1, 256])
def test_frame_ttl_outside_u8_is_a_value_error(ttl: int) -> None:
    env = CODEC.open(_frames([3])[0])
    with pytest.raises(ValueError, match="not a u8"):
        env.frame(ttl)


def test_the_batch_check_calls_libsodium_through_pynacls_cffi_module() -> None:
    """``nacl._sodium`` is private to PyNaCl: the day it moves or loses ``crypto_sign_open``,
    this fails (rather than the wrapper taking over unnoticed, a few percent slower)."""
    from nacl._sodium import ffi, lib  # noqa: PLC0415 (the private module itself)

    import protocol.frame as frame_module  # noqa: PLC0415

    assert frame_module._sign_open is lib.crypto_sign_open
    assert frame_module._ffi is ffi
    assert signatures_valid([CODEC.open(_frames([12])[0])]) == [True]


def test_without_pynacls_cffi_module_the_wrapper_gives_the_same_verdicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PyNaCl without ``nacl._sodium`` (another layout): the public wrapper is used."""
    import protocol.frame as frame_module  # noqa: PLC0415

    good = CODEC.open(_frames([11])[0])
    bad = CODEC.open(good.frame()[:-1] + bytes([good.frame()[-1] ^ 1]))
    expected = signatures_valid([good, bad, good])
    calls: list[bytes] = []
    wrapper = nacl.bindings.crypto_sign_open

    def spy(signed: bytes, key: bytes) -> bytes:
        calls.append(key)
        return wrapper(signed, key)

    monkeypatch.setattr(frame_module, "_sign_open", None)
    monkeypatch.setattr(nacl.bindings, "crypto_sign_open", spy)
    assert signatures_valid([good, bad, good]) == expected == [True, False, True]
    assert len(calls) == 3
