"""A node that lost its data but kept its key (DESIGN.md section 4, durability): it signs nothing
until 3 distinct peers have shown it its own history, and then continues its chain instead of
forking it.  The flag survives a restart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from node.drivers.durable import RECOVERY_FLAG, RECOVERY_PEERS, DurableReplica, PlayerError
from node.drivers.store import Store
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from tests.ledger_factory import public_key, signing_key, transfer

SEED = "recovering-node"
ME = public_key(SEED)
PAYEE = public_key("payee")
PEERS = [public_key(f"peer-{i}") for i in range(5)]
CODEC = FrameCodec(LOCAL.network_id)


def node_at(path: Path, *, lost_data: bool = False) -> DurableReplica:
    return DurableReplica(
        LOCAL, Store(path, LOCAL.network_id), signing_key(SEED), lost_data=lost_data
    )


def waiting(node: DurableReplica) -> bool:
    """Whether ``node`` still waits for peers (a call, so mypy does not narrow it)."""
    return node.recovering


def old_history(tmp_path: Path, count: int = 3) -> tuple[list[bytes], DurableReplica]:
    """The node's first life: ``count`` signed transfers; returns them and a peer replica that
    holds them (what the rest of the mesh knows)."""
    first = node_at(tmp_path / "first.sqlite")
    frames = [first.issue(transfer(PAYEE, 10 + n)) for n in range(count)]
    first.store.close()
    peer = DurableReplica(LOCAL, Store(tmp_path / "peer.sqlite", LOCAL.network_id))
    peer.receive(frames)
    return frames, peer


def own_entry(peer: DurableReplica) -> tuple[int, bytes]:
    """This key's entry in the peer's anti-entropy summary: (HWM, cumulative-hash prefix)."""
    for sender, hwm, prefix, _ in peer.replica.summary():
        if sender == ME:
            return hwm, prefix
    return 0, b""


def test_a_node_that_lost_its_data_waits_for_three_peers_then_continues_its_chain(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frames, peer = old_history(tmp_path)
    hwm, prefix = own_entry(peer)
    assert hwm == 3

    with caplog.at_level(logging.WARNING, logger="bitcraps.store"):
        node = node_at(tmp_path / "new.sqlite", lost_data=True)
    assert "restored backup can fork this key" in caplog.text
    assert waiting(node)
    with pytest.raises(PlayerError, match="0 of 3 confirmed"):
        node.issue(transfer(PAYEE, 1))

    # Two peers report HWM 3, but the packets have not arrived: nothing confirms yet.
    assert not node.report_own(PEERS[0], hwm, prefix)
    assert not node.report_own(PEERS[1], hwm, prefix)
    with pytest.raises(PlayerError, match="own packets up to 3 still missing"):
        node.issue(transfer(PAYEE, 1))

    node.receive(frames)  # pulled from the peers as any other packets
    assert node.replica.hwm(ME) == 3
    with pytest.raises(PlayerError, match="2 of 3 confirmed"):
        node.issue(transfer(PAYEE, 1))
    assert node.store.own_nonce() == 0

    assert node.report_own(PEERS[2], hwm, prefix)
    assert not waiting(node)
    frame = node.issue(transfer(PAYEE, 1))
    assert CODEC.open(frame).nonce == 4  # the chain goes on: nonce 1 is not signed again
    assert peer.receive([frame]).accepted == [frame]
    assert node.replica.digest() == peer.replica.digest()


def test_recovery_survives_a_restart_until_it_completes(tmp_path: Path) -> None:
    frames, peer = old_history(tmp_path)
    hwm, prefix = own_entry(peer)
    path = tmp_path / "new.sqlite"
    node = node_at(path, lost_data=True)
    node.receive(frames)
    node.report_own(PEERS[0], hwm, prefix)
    node.store.close()

    node = node_at(path)  # restarted without the flag: the store remembers
    assert waiting(node)
    assert node.replica.hwm(ME) == 3
    with pytest.raises(PlayerError, match="0 of 3 confirmed"):  # reports are per run
        node.issue(transfer(PAYEE, 1))
    for peer_id in PEERS[:RECOVERY_PEERS]:
        node.report_own(peer_id, hwm, prefix)
    assert not waiting(node)
    assert node.store.flag(RECOVERY_FLAG) is None
    node.store.close()

    node = node_at(path)
    assert not waiting(node)
    assert CODEC.open(node.issue(transfer(PAYEE, 1))).nonce == 4


def test_the_same_peer_counts_once_and_its_newer_report_replaces_the_older(
    tmp_path: Path,
) -> None:
    frames, peer = old_history(tmp_path)
    hwm, prefix = own_entry(peer)
    node = node_at(tmp_path / "new.sqlite", lost_data=True)
    node.receive(frames)
    for _ in range(3):
        assert not node.report_own(PEERS[0], hwm, prefix)
    assert not node.report_own(PEERS[1], hwm, prefix)
    assert waiting(node)
    # PEERS[1] learns of a fourth packet the node has not seen: recovery waits for it
    assert not node.report_own(PEERS[1], hwm + 1, prefix)
    assert not node.report_own(PEERS[2], hwm, prefix)
    assert waiting(node)
    assert node.report_own(PEERS[1], hwm, prefix)


def test_a_report_of_another_history_never_confirms(tmp_path: Path) -> None:
    frames, peer = old_history(tmp_path)
    hwm, prefix = own_entry(peer)
    node = node_at(tmp_path / "new.sqlite", lost_data=True)
    node.receive(frames)
    other = bytes(b ^ 0xFF for b in prefix)
    for peer_id in PEERS[:RECOVERY_PEERS]:
        assert not node.report_own(peer_id, hwm, other)
    assert waiting(node)
    with pytest.raises(PlayerError, match="0 of 3 confirmed"):
        node.issue(transfer(PAYEE, 1))


def test_peers_that_know_nothing_of_a_fresh_key_let_it_start_at_nonce_one(tmp_path: Path) -> None:
    node = node_at(tmp_path / "new.sqlite", lost_data=True)
    for peer_id in PEERS[:RECOVERY_PEERS]:
        node.report_own(peer_id, 0, b"")
    assert not waiting(node)
    assert CODEC.open(node.issue(transfer(PAYEE, 1))).nonce == 1


@pytest.mark.parametrize(
    ("peer", "hwm", "prefix", "match"),
    [
        (b"short", 1, bytes(16), "32-byte"),
        ("a string", 1, bytes(16), "32-byte"),
        (ME, 1, bytes(16), "own history"),
        (PEERS[0], -1, bytes(16), "hwm"),
        (PEERS[0], 2**32, bytes(16), "hwm"),
        (PEERS[0], True, bytes(16), "hwm"),
        (PEERS[0], 1, b"", "prefix"),
        (PEERS[0], 0, bytes(16), "prefix"),
        (PEERS[0], 1, bytes(33), "prefix"),
        (PEERS[0], 1, "x" * 16, "prefix"),
    ],
)
def test_a_malformed_report_is_refused_and_changes_nothing(
    tmp_path: Path, peer: object, hwm: object, prefix: object, match: str
) -> None:
    node = node_at(tmp_path / "new.sqlite", lost_data=True)
    with pytest.raises(ValueError, match=match):
        node.report_own(peer, hwm, prefix)  # type: ignore[arg-type]
    assert node.recovery is not None and node.recovery.reports == {}


def test_a_node_with_its_data_never_waits(tmp_path: Path) -> None:
    node = node_at(tmp_path / "node.sqlite")
    assert not waiting(node)
    assert node.report_own(PEERS[0], 0, b"")  # nothing to recover: a no-op
    assert CODEC.open(node.issue(transfer(PAYEE, 1))).nonce == 1
