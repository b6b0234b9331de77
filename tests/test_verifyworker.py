"""node/drivers/verifyworker.py: the worker process gives verify_batch's verdicts, in order."""

from __future__ import annotations

import trio

from node.core.replica import Verdicts, verify_batch
from node.drivers.verifyworker import VerifyWorker
from protocol.errors import BadSignature
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from tests.ledger_factory import Chain, public_key


async def test_the_worker_answers_batches_in_order_with_verify_batch_verdicts() -> None:
    codec = FrameCodec(LOCAL.network_id)
    chain = Chain("worker-batches")
    for amount in range(1, 41):
        chain.transfer(public_key("worker-sink"), amount)
    envelopes = []
    for i, frame in enumerate(chain.frames):
        bad = frame[:-1] + bytes([frame[-1] ^ 1])  # a bad signature
        envelopes.append(codec.open(bad if i % 7 == 3 else frame))
    batches = [envelopes[i : i + 9] for i in range(0, len(envelopes), 9)] + [[]]
    answers: list[tuple[int, Verdicts]] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            worker = await nursery.start(VerifyWorker().run, lambda j, v: answers.append((j, v)))
            for job, batch in enumerate(batches):
                worker.submit(job, batch)
            while len(answers) < len(batches):
                await trio.sleep(0.01)
            assert worker.in_flight == 0
            nursery.cancel_scope.cancel()
    assert [job for job, _ in answers] == list(range(len(batches)))
    for (_, got), batch in zip(answers, batches, strict=True):
        expected = verify_batch(batch)
        assert [type(v) for v in got] == [type(v) for v in expected]
    bad = [v for _, got in answers for v in got if v is not None]
    assert len(bad) == 6 and all(isinstance(v, BadSignature) for v in bad)
