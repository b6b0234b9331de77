"""The byte-level vectors in tests/vectors/*.json, checked both ways against the protocol package.

Decoding each vector must give its JSON fields; encoding the JSON fields must give its bytes; each
invalid frame must raise exactly its error class at the frame entry (``FrameCodec.decode``), each
datagram get its class at the datagram entry (``classify_datagram``), each fragment push its
reassembly result, each genesis file and amount spelling its value or refusal; and the files must
be exactly what ``scripts/gen_vectors.py`` writes now, so a schema change without regenerating
fails here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nacl.exceptions
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.amounts import AmountError, parse_crap
from protocol.bets import COME_POINTS, BetType, needs_come_point
from protocol.constants import MAX_NONCE, MAX_U64, SIGN_DOMAIN
from protocol.errors import (
    ALL_ERRORS,
    FragmentError,
    LinkError,
    Malformed,
    PacketError,
    UnknownDatagram,
)
from protocol.fragment import Fragment, Reassembler, split
from protocol.frame import FrameCodec, classify_datagram
from protocol.genesis import LOCAL, GenesisError, parse_genesis
from protocol.jsonform import body_from_json, body_to_json, body_wire_from_json
from protocol.kinds import Bet, BetEntry, Kind, body_to_wire

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
SCRIPT = ROOT / "scripts" / "gen_vectors.py"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_vectors", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_vectors", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _read(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


PACKETS = _read("packets.json")
INVALID = _read("invalid.json")
GENESIS = _read("genesis.json")
FRAGMENTS = _read("fragments.json")
DATAGRAMS = _read("datagrams.json")
NETWORK_ID = bytes.fromhex(PACKETS["network_id_hex"])
VALID = PACKETS["vectors"]
BAD = INVALID["vectors"]


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [f"{i}-{v.get('kind', v.get('error'))}" for i, v in enumerate(vectors)]


# --------------------------------------------------------------------------- (f) freshness


def test_vector_files_are_exactly_what_the_generator_writes_now() -> None:
    documents = gen.build()
    assert sorted(documents) == sorted(gen.FILES)
    for name in gen.FILES:
        text = (VECTORS / name).read_text(encoding="utf-8")
        assert json.loads(text) == documents[name], f"{name} is stale: run scripts/gen_vectors.py"
        assert text == gen.render(documents[name]), f"{name} is not in the generator's layout"


def test_vector_files_are_pretty_printed_with_sorted_keys_and_a_trailing_newline() -> None:
    for name in gen.FILES:
        text = (VECTORS / name).read_text(encoding="utf-8")
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_generator_check_mode_passes_on_the_files_on_disk() -> None:
    assert gen.main(["--check"]) == 0


def test_generator_check_mode_fails_on_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in gen.FILES:
        (tmp_path / name).write_text((VECTORS / name).read_text(encoding="utf-8"), "utf-8")
    monkeypatch.setattr(gen, "VECTOR_DIR", tmp_path)
    assert gen.main(["--check"]) == 0
    stale = tmp_path / "packets.json"
    stale.write_text(stale.read_text(encoding="utf-8").replace('"nonce": 1,', '"nonce": 2,', 1))
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert stale.read_text(encoding="utf-8") == (VECTORS / "packets.json").read_text("utf-8")


# --------------------------------------------------------------------------- coverage


def test_packets_network_is_local() -> None:
    assert LOCAL.network_id == NETWORK_ID
    assert gen.genesis_from_json(PACKETS["genesis"]) == LOCAL


def test_every_packet_kind_has_a_valid_vector() -> None:
    assert {v["kind"] for v in VALID} == {kind.name.lower() for kind in Kind}


def test_a_nonce_one_vector_has_an_all_zero_prev() -> None:
    firsts = [v for v in VALID if v["nonce"] == 1]
    assert firsts
    assert all(v["prev_hex"] == "00" * 8 for v in firsts)


def test_realistic_single_bet_vector_is_149_bytes_and_at_the_limits() -> None:
    (vector,) = [v for v in VALID if v["nonce"] == MAX_NONCE]
    fields = vector["fields"]
    assert vector["kind"] == "bet"
    assert vector["prev_hex"] != "00" * 8
    assert fields["table"] == MAX_NONCE
    assert fields["bets"] == [
        {"code": {"code": 80, "name": "OddsCome"}, "amount": MAX_U64, "come_point": 6}
    ]
    assert len(bytes.fromhex(vector["packet_hex"])) == 149


def test_keys_come_from_their_documented_seeds() -> None:
    for vector in VALID:
        seed = hashlib.sha256(b"BCM/test-vector-key/" + vector["signer"].encode()).digest()
        assert vector["seed_hex"] == seed.hex()
        key = nacl.signing.SigningKey(seed)
        assert bytes(key.verify_key).hex() == vector["public_key_hex"]


def test_every_error_a_frame_can_produce_has_an_invalid_vector() -> None:
    reachable = {e.__name__ for e in ALL_ERRORS} - {
        UnknownDatagram.__name__,
        FragmentError.__name__,
        LinkError.__name__,
    }
    assert {v["error"] for v in BAD} == reachable


# --------------------------------------------------------------------------- (a) decoding


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_decodes_to_its_fields(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["packet_hex"])
    codec = FrameCodec(NETWORK_ID)
    packet = codec.decode(frame)
    assert packet.sender.hex() == vector["public_key_hex"]
    assert packet.nonce == vector["nonce"]
    assert packet.prev.hex() == vector["prev_hex"]
    assert packet.kind.name.lower() == vector["kind"]
    assert packet.body == body_from_json(vector["kind"], vector["fields"])
    assert body_to_json(packet.body) == vector["fields"]


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_signed_bytes_and_hashes_match(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["packet_hex"])
    signed = bytes.fromhex(vector["signed_hex"])
    assert frame[0] == 1 and frame[1] == 0
    assert frame[2:6] == NETWORK_ID[:4]
    assert signed == SIGN_DOMAIN + NETWORK_ID + frame[6:-64]
    assert frame[-64:].hex() == vector["signature_hex"]
    full = hashlib.sha256(signed).digest()
    assert vector["full_hash_hex"] == full.hex()
    assert vector["h_hex"] == full[:8].hex()
    envelope = FrameCodec(NETWORK_ID).open(frame)
    assert envelope.signed == signed
    assert envelope.h.hex() == vector["h_hex"]
    assert envelope.full_hash.hex() == vector["full_hash_hex"]
    assert envelope.frame() == frame


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_valid_vector_signature_verifies_with_plain_pynacl(vector: dict[str, Any]) -> None:
    verify_key = nacl.signing.VerifyKey(bytes.fromhex(vector["public_key_hex"]))
    signed = bytes.fromhex(vector["signed_hex"])
    signature = bytes.fromhex(vector["signature_hex"])
    assert verify_key.verify(signed, signature) == signed
    with pytest.raises(nacl.exceptions.BadSignatureError):
        verify_key.verify(signed + b"\x00", signature)


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_ttl_change_keeps_a_valid_vector_valid(vector: dict[str, Any]) -> None:
    frame = bytearray.fromhex(vector["packet_hex"])
    frame[1] = 0xFF
    packet = FrameCodec(NETWORK_ID).decode(bytes(frame))
    assert packet.body == body_from_json(vector["kind"], vector["fields"])


# --------------------------------------------------------------------------- (b) encoding


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_sealing_the_json_fields_reproduces_the_packet_bytes(vector: dict[str, Any]) -> None:
    key = nacl.signing.SigningKey(bytes.fromhex(vector["seed_hex"]))
    body = body_from_json(vector["kind"], vector["fields"])
    frame = FrameCodec(NETWORK_ID).seal(
        key, vector["nonce"], bytes.fromhex(vector["prev_hex"]), body
    )
    assert frame.hex() == vector["packet_hex"]


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_wire_values_read_from_the_schema_match_the_codecs(vector: dict[str, Any]) -> None:
    body = body_from_json(vector["kind"], vector["fields"])
    assert body_wire_from_json(vector["kind"], vector["fields"]) == body_to_wire(body)


def test_json_form_rejects_a_field_the_schema_does_not_have() -> None:
    vector = VALID[0]
    fields = {**vector["fields"], "extra": 1}
    with pytest.raises(ValueError, match="fields"):
        body_from_json(vector["kind"], fields)


@pytest.mark.parametrize("vector", VALID, ids=_ids(VALID))
def test_json_form_rejects_a_body_missing_any_one_field(vector: dict[str, Any]) -> None:
    for name in vector["fields"]:
        fields = {k: v for k, v in vector["fields"].items() if k != name}
        with pytest.raises(ValueError, match="expected an object with fields"):
            body_from_json(vector["kind"], fields)


def test_json_form_rejects_a_nested_struct_with_a_missing_or_extra_field() -> None:
    (vector,) = [v for v in VALID if v["nonce"] == MAX_NONCE]
    missing = json.loads(json.dumps(vector["fields"]))
    del missing["bets"][0]["amount"]
    with pytest.raises(ValueError, match=r"Bet\.bets\[0\]: expected an object with fields"):
        body_from_json("bet", missing)
    extra = json.loads(json.dumps(vector["fields"]))
    extra["bets"][0]["colour"] = "red"
    with pytest.raises(ValueError, match=r"Bet\.bets\[0\]: expected an object with fields"):
        body_from_json(Kind.BET, extra)


def test_json_form_rejects_an_enum_whose_name_and_code_disagree() -> None:
    (vector,) = [v for v in VALID if v["nonce"] == MAX_NONCE]
    fields = json.loads(json.dumps(vector["fields"]))
    fields["bets"][0]["code"]["name"] = "OddsDontCome"
    with pytest.raises(ValueError, match="bet code"):
        body_from_json("bet", fields)


def test_json_form_rejects_a_bank_whose_name_and_code_disagree() -> None:
    (vector,) = [v for v in VALID if v["kind"] == "create"][:1]
    fields = json.loads(json.dumps(vector["fields"]))
    code = fields["bank"]["code"]
    fields["bank"]["name"] = "TREASURY" if code == 0 else "OWN"
    with pytest.raises(ValueError, match="is not a bank"):
        body_from_json("create", fields)


def test_json_form_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="not a packet kind"):
        body_from_json("shuffle", {})
    with pytest.raises(ValueError, match="not a packet kind"):
        body_from_json(13, {})


def test_json_form_accepts_the_kind_as_its_number() -> None:
    for vector in VALID:
        number = int(Kind[vector["kind"].upper()])
        assert body_from_json(number, vector["fields"]) == body_from_json(
            vector["kind"], vector["fields"]
        )


_ENTRIES = st.sampled_from(list(BetType)).flatmap(
    lambda code: st.builds(
        BetEntry,
        st.just(code),
        st.integers(1, MAX_U64),
        st.sampled_from(sorted(COME_POINTS)) if needs_come_point(code) else st.none(),
    )
)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(_ENTRIES, min_size=1, max_size=8),
    table=st.integers(1, MAX_NONCE),
    nonce=st.integers(2, MAX_NONCE),
)
def test_bet_bodies_round_trip_through_json_and_the_wire(
    entries: list[BetEntry], table: int, nonce: int
) -> None:
    body = Bet(b"\x01" * 8, table, tuple(entries))
    as_json = json.loads(json.dumps(body_to_json(body)))
    assert body_from_json("bet", as_json) == body
    codec = FrameCodec(NETWORK_ID)
    frame = codec.seal(gen.signing_key("alice"), nonce, b"\x02" * 8, body)
    assert codec.decode(frame).body == body


# --------------------------------------------------------------------------- (c) invalid frames


def test_invalid_vectors_are_frames_at_the_frame_entry() -> None:
    assert INVALID["entry"] == "frame"
    assert DATAGRAMS["entry"] == "datagram"


@pytest.mark.parametrize("vector", BAD, ids=_ids(BAD))
def test_invalid_vector_raises_exactly_its_error(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["packet_hex"])
    with pytest.raises(PacketError) as info:
        FrameCodec(NETWORK_ID).decode(frame)
    error = info.value
    assert type(error).__name__ == vector["error"], f"{vector['description']}: {error}"
    assert error.verdict == vector["verdict"]
    assert error.code == vector["code"]


@pytest.mark.parametrize("vector", [v for v in BAD if v["verdict"] == "refused"])
def test_refused_vector_carries_a_valid_signature_and_its_envelope(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["packet_hex"])
    envelope = FrameCodec(NETWORK_ID).open(frame)
    assert envelope.signed == SIGN_DOMAIN + NETWORK_ID + frame[6:-64]
    nacl.signing.VerifyKey(envelope.sender).verify(envelope.signed, frame[-64:])
    with pytest.raises(Malformed) as info:
        FrameCodec(NETWORK_ID).decode(frame)
    assert info.value.envelope.full_hash == envelope.full_hash  # type: ignore[attr-defined]


def test_invalid_vector_classes_agree_with_protocol_errors() -> None:
    classes = {e.__name__: e for e in ALL_ERRORS}
    for vector in BAD:
        cls = classes[vector["error"]]
        assert (cls.verdict, cls.code) == (vector["verdict"], vector["code"])


# --------------------------------------------------------------------------- datagrams


@pytest.mark.parametrize("vector", DATAGRAMS["vectors"], ids=lambda v: v["datagram_hex"][:2])
def test_datagram_vector_is_classified_as_it_says(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["datagram_hex"])
    if vector["carries"] is None:
        with pytest.raises(UnknownDatagram):
            classify_datagram(data)
        assert (vector["error"], vector["code"]) == ("UnknownDatagram", UnknownDatagram.code)
    else:
        assert classify_datagram(data) == vector["carries"]
        assert vector["error"] is None and vector["code"] is None


def test_every_first_byte_the_frame_vectors_try_has_its_datagram_verdict() -> None:
    """A frame vector that is not 0x01 at byte 0 is a frame-entry verdict (UnknownVersion);
    the same bytes as a datagram are refused or taken as a link message."""
    firsts = {
        bytes.fromhex(v["packet_hex"])[:1]
        for v in BAD
        if v["packet_hex"] and v["error"] == "UnknownVersion"
    }
    assert firsts == {b"\x00", b"\x02", b"\x80"}
    by_first = {bytes.fromhex(v["datagram_hex"])[:1]: v for v in DATAGRAMS["vectors"]}
    assert by_first[b""]["error"] == "UnknownDatagram"
    assert {f: by_first[f]["carries"] for f in firsts} == {
        b"\x00": None,
        b"\x02": None,
        b"\x80": "link",
    }
    assert by_first[b"\x01"]["carries"] == "ledger"


# --------------------------------------------------------------------------- (d) genesis


@pytest.mark.parametrize("vector", GENESIS["vectors"], ids=lambda v: v["fields"]["name"])
def test_genesis_vector_matches_protocol_genesis(vector: dict[str, Any]) -> None:
    genesis = gen.genesis_from_json(vector["fields"])
    encoding = bytes.fromhex(vector["encoding_hex"])
    assert encoding.startswith(b"BCM/genesis/v1")
    assert genesis.encode() == encoding
    assert genesis.network_id.hex() == vector["network_id_hex"]
    assert hashlib.sha256(encoding).hexdigest() == vector["network_id_hex"]
    parsed = parse_genesis(vector["toml"])
    assert parsed == genesis
    assert parsed.network_id == genesis.network_id
    assert gen.genesis_to_json(genesis) == vector["fields"]


@pytest.mark.parametrize("vector", GENESIS["amounts"], ids=lambda v: repr(v["text"]))
def test_amount_vector_parses_as_it_says(vector: dict[str, Any]) -> None:
    if vector["base_units"] is None:
        with pytest.raises(AmountError):
            parse_crap(vector["text"], allow_zero=vector["zero_allowed"])
    else:
        assert parse_crap(vector["text"], allow_zero=vector["zero_allowed"]) == vector["base_units"]


@pytest.mark.parametrize("vector", GENESIS["invalid_toml"], ids=lambda v: v["description"])
def test_invalid_genesis_file_is_refused(vector: dict[str, Any]) -> None:
    with pytest.raises(GenesisError):
        parse_genesis(vector["toml"])


def test_a_genesis_file_of_only_a_name_takes_every_default() -> None:
    (vector,) = [v for v in GENESIS["vectors"] if v["toml"] == 'name = "defaults"\n']
    fields = vector["fields"]
    assert fields["bounds"] == gen.genesis_to_json(LOCAL)["bounds"]
    assert (fields["play_money"], fields["faucet_amount"], fields["house_key"]) == (
        False,
        0,
        None,
    )
    assert (fields["min_account"], fields["treasury_reserve"], fields["grants"]) == (0, 0, [])


def test_genesis_vectors_cover_local_and_a_network_with_grants_house_and_reserve() -> None:
    by_name = {v["fields"]["name"]: v for v in GENESIS["vectors"]}
    assert by_name["local"]["network_id_hex"] == LOCAL.network_id.hex()
    rich = [
        v["fields"]
        for v in GENESIS["vectors"]
        if v["fields"]["grants"] and v["fields"]["house_key"] and v["fields"]["treasury_reserve"]
    ]
    assert rich
    assert INVALID["other_network_id_hex"] in {v["network_id_hex"] for v in GENESIS["vectors"]}


# --------------------------------------------------------------------------- (e) fragments


def test_fragment_vectors_match_split_and_reassemble() -> None:
    frame = bytes.fromhex(FRAGMENTS["frame_hex"])
    frame_id = FRAGMENTS["frame_id"]
    assert len(frame) == 149
    assert frame_id == 0x0102
    assert [s["payload_size"] for s in FRAGMENTS["splits"]] == [20, 182, 244]
    for case in FRAGMENTS["splits"]:
        size = case["payload_size"]
        fragments = [bytes.fromhex(h) for h in case["fragments"]]
        assert split(frame, size, frame_id, FRAGMENTS["link"]) == fragments
        assert all(len(f) <= size for f in fragments)
        for index, raw in enumerate(fragments):
            decoded = Fragment.decode(raw)
            assert (decoded.frame_id, decoded.index, decoded.count) == (
                frame_id,
                index,
                len(fragments),
            )
        for order in (fragments, fragments[::-1]):
            reassembler = Reassembler()
            results = [reassembler.push("peer", raw, 0.0) for raw in order]
            assert results[:-1] == [None] * (len(order) - 1)
            assert results[-1] == frame


@pytest.mark.parametrize(
    "case", FRAGMENTS["reassembly"], ids=lambda c: c["description"][:40].replace(" ", "-")
)
def test_reassembly_vector_gives_each_push_its_result(case: dict[str, Any]) -> None:
    reassembler = Reassembler()
    for push in case["pushes"]:
        raw = bytes.fromhex(push["fragment_hex"])
        expected = push["result"]
        if expected == "FragmentError":
            with pytest.raises(FragmentError):
                reassembler.push("peer", raw, 0.0)
            continue
        result = reassembler.push("peer", raw, 0.0)
        assert result == (None if expected is None else bytes.fromhex(expected["frame_hex"]))


def test_fragment_vector_frame_is_the_realistic_single_bet() -> None:
    (vector,) = [v for v in VALID if v["nonce"] == MAX_NONCE]
    assert FRAGMENTS["frame_hex"] == vector["packet_hex"]
