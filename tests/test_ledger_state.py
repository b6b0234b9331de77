"""The ledger state's own guarantees: its serialization round-trips exactly and refuses bytes
it did not write; the independent supply audit catches a state that creates money."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.ledger import LedgerState, NoTables, SupplyError
from node.core.replica import Replica
from protocol.genesis import LOCAL, Genesis
from tests.ledger_factory import Chain, funded_genesis


def _state_after(transfers: list[tuple[int, int, int]], genesis: Genesis = LOCAL) -> Replica:
    chains = [Chain(f"ledger-state-{i}", genesis) for i in range(3)]
    replica = Replica(genesis, audit=True)
    for payer, payee, amount in transfers:
        if payer == payee:
            continue
        payee_chain = chains[payee]
        refs = [payee_chain.ref(payee_chain.nonce)] if payee_chain.nonce else []
        replica.receive(chains[payer].transfer(payee_chain.pub, amount, *refs), 0.0)
    return replica


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(1, 150_000 * 10**6)),
        max_size=12,
    )
)
def test_state_serialization_round_trips_exactly(transfers: list[tuple[int, int, int]]) -> None:
    replica = _state_after(transfers)
    state = replica.state
    again = LedgerState.from_bytes(LOCAL, state.to_bytes(), NoTables())
    assert again.digest() == state.digest()
    assert again.to_bytes() == state.to_bytes()
    again.audit()


def test_a_snapshot_of_another_network_or_garbage_is_refused() -> None:
    state = _state_after([(0, 1, 5)]).state
    other = funded_genesis({})
    with pytest.raises(ValueError, match="state snapshot"):
        LedgerState.from_bytes(other, state.to_bytes(), NoTables())
    for junk in (b"", b"\x00", b"\x93\x01\x02\x03", state.to_bytes()[:-3]):
        with pytest.raises(ValueError):
            LedgerState.from_bytes(LOCAL, junk, NoTables())
    # a snapshot of an earlier layout (its tag): refused, so the node replays its log instead
    tag, *rest = msgpack.unpackb(state.to_bytes())
    assert tag.startswith(b"BCM/state-snapshot/v")
    older = tag[:-1] + bytes([tag[-1] - 1])
    with pytest.raises(ValueError, match="state snapshot"):
        LedgerState.from_bytes(LOCAL, msgpack.packb([older, *rest]), NoTables())


def test_audit_catches_money_created_outside_the_rules() -> None:
    state = _state_after([(0, 1, 5), (1, 2, 3)]).state
    state.audit()
    account = next(iter(state.accounts.values()))
    account.base += 1
    with pytest.raises(SupplyError):
        state.audit()
