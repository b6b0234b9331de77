"""The duplicate index agrees with a plain model of what was taken, whatever the operations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.dedup import SeenIndex

SENDERS = [bytes([i]) * 32 for i in range(3)]
HASHES = [bytes([i]) * 32 for i in range(4)]

ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "forget", "forget_version"]),
        st.sampled_from(SENDERS),
        st.integers(min_value=1, max_value=4),
        st.sampled_from(HASHES),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_seen_index_matches_a_model(operations: list[tuple[str, bytes, int, bytes]]) -> None:
    index = SeenIndex()
    model: dict[tuple[bytes, int], list[bytes]] = {}
    for op, sender, nonce, h in operations:
        key = (sender, nonce)
        if op == "add":
            fresh = h not in model.get(key, [])
            assert index.add(sender, nonce, h) is fresh
            if fresh:
                model.setdefault(key, []).append(h)
        elif op == "forget":
            index.forget(sender, nonce)
            model.pop(key, None)
        else:
            index.forget_version(sender, nonce, h)
            kept = [v for v in model.get(key, []) if v != h]
            if kept:
                model[key] = kept
            else:
                model.pop(key, None)
        assert len(index) == len(model)
        for s in SENDERS:
            for n in range(1, 5):
                assert index.versions(s, n) == tuple(model.get((s, n), []))
                for v in HASHES:
                    assert index.contains(s, n, v) is (v in model.get((s, n), []))
