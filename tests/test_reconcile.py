"""node/core/antientropy.py, range reconciliation: two summaries that differ in a few senders
among thousands find exactly those senders, in few rounds, every message within one datagram."""

from __future__ import annotations

import hashlib
import random

import pytest

from node.core.antientropy import Summary, opening, respond
from protocol.constants import MAX_FRAME
from protocol.link import AeEntry, Ranges, encode_link


def entry(i: int, n: int = 1, salt: bytes = b"") -> AeEntry:
    sender = hashlib.sha256(b"sender/%d" % i).digest()
    return AeEntry(sender, n, hashlib.sha256(sender + salt + bytes([n])).digest()[:16])


def reconcile(a: Summary, b: Summary) -> tuple[set[bytes], int, int]:
    """Run the exchange to its end, b opening; the senders found to differ, the rounds (round
    trips of messages), and the largest message."""
    found: set[bytes] = set()
    messages = opening(b)
    largest = 0
    sides = [a, b]
    turn = 0
    rounds = 0
    while messages:
        rounds += 1
        answers = []
        for start, items in messages:
            largest = max(largest, len(encode_link(Ranges(1, start, tuple(items)))))
            replies, diffs = respond(sides[turn], start, items)
            found |= {d.sender for d in diffs}
            answers.extend(replies)
        messages = answers
        turn ^= 1
        assert rounds < 64
    return found, rounds, largest


@pytest.mark.parametrize("count", [0, 1, 7, 300, 5000])
def test_equal_summaries_settle_at_once(count: int) -> None:
    entries = sorted((entry(i) for i in range(count)), key=lambda e: e.sender)
    a, b = Summary(entries), Summary(list(entries))
    assert a.digest() == b.digest()
    found, rounds, _ = reconcile(a, b)
    assert found == set() and rounds <= 1


@pytest.mark.parametrize(("count", "changed"), [(50, 3), (2000, 5), (20000, 40), (20000, 400)])
def test_a_few_differences_among_many_are_found_in_few_rounds(count: int, changed: int) -> None:
    rng = random.Random(count)
    base = {e.sender: e for e in (entry(i) for i in range(count))}
    other = dict(base)
    differing = set()
    for i in rng.sample(range(count), changed):
        e = entry(i)
        other[e.sender] = entry(i, n=2)  # one side judged one more packet
        differing.add(e.sender)
    for i in range(count, count + changed):  # senders only one side knows
        e = entry(i)
        other[e.sender] = e
        differing.add(e.sender)
    a = Summary(sorted(base.values(), key=lambda e: e.sender))
    b = Summary(sorted(other.values(), key=lambda e: e.sender))
    assert a.digest() != b.digest()
    found, rounds, largest = reconcile(a, b)
    assert found == differing
    assert largest <= MAX_FRAME
    assert rounds <= 6


def test_a_forked_entry_differs_from_the_plain_one() -> None:
    plain = entry(1, n=3)
    forked = AeEntry(plain.sender, 2, b"\x01" * 16, b"\x02" * 16)
    found, _, _ = reconcile(Summary([plain]), Summary([forked]))
    assert found == {plain.sender}


def test_everything_differs_and_still_no_message_passes_a_datagram() -> None:
    a = Summary(sorted((entry(i, salt=b"a") for i in range(3000)), key=lambda e: e.sender))
    b = Summary(sorted((entry(i, salt=b"b") for i in range(3000)), key=lambda e: e.sender))
    found, rounds, largest = reconcile(a, b)
    assert len(found) == 3000
    assert largest <= MAX_FRAME
    assert rounds < 40  # 3,000 listed entries are 200 KB: the round budget makes it take rounds
