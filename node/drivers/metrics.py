"""The daemon's metrics: counters, gauges and histograms in one ``prometheus_client`` registry,
shown by ``bitcraps stats`` (the control API's ``stats``) and served in Prometheus text format
on ``--metrics-port`` (127.0.0.1 only).

Most figures are read from the node when asked (a collector over the driver's and the core's
counters, the replica's footprint, the links' scores), so the hot path pays nothing but the
integer increments it already makes; what must be observed as it happens (judged packets by
kind and verdict, revisions, API and issue latency, settle latency) is counted here from each
committed Persist and by the callers.  The HTTP endpoint runs in the Trio loop that owns the
node, so a scrape never reads the node from another thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Final

import trio
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from node.core.events import FORK_KEPT, JUDGED, REVISED
from node.core.log import Entry
from node.core.node import Persist
from node.core.tables.agent import TableAgent
from node.core.tables.state import Tables
from node.core.verdicts import Reason
from node.drivers.driver import NodeDriver
from node.drivers.tableview import TableLog
from protocol.kinds import Kind

__all__ = ["METRICS_HOST", "Metrics", "serve_metrics"]

log = logging.getLogger("bitcraps.metrics")

METRICS_HOST: Final = "127.0.0.1"
"""Metrics are served on loopback only: they name peers and balances."""
MAX_HTTP_REQUEST: Final = 8 * 1024
HTTP_TIMEOUT: Final = 5.0

LATENCY_BUCKETS: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SETTLE_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

_OUTCOMES: Final = ("judged", "held", "logged")
"""Core counters that are ingest outcomes of a verified frame."""
_DROPS: Final = {
    "duplicate": "duplicate",
    "above_fork": "above_fork",
    "beyond_window": "beyond_window",
    "fork_version_not_kept": "fork_version_not_kept",
    "evicted_on_arrival": "evicted_on_arrival",
    "no_room": "no_room",
    "dropped": "dropped",
}
"""Core counters that are frames dropped without a penalty, by reason (and every ``dropped_*``)."""
_FRAME_EVENTS: Final = {"forwarded", "served", *_OUTCOMES, *_DROPS}


def frame_kind(frame: bytes) -> int:
    """The kind of a valid frame: its body is a msgpack fixarray (at most 15 fields) right after
    the 6-byte header, and the kind its first element, a positive fixint."""
    return frame[7] if len(frame) > 7 and frame[6] & 0xF0 == 0x90 else 0


def _kind_name(kind: int) -> str:
    try:
        return Kind(kind).name.lower()
    except ValueError:
        return "unknown"


class Metrics:
    """Every metric of one node: ``observe`` each committed Persist (a driver observer)."""

    def __init__(self, driver: NodeDriver, tables: TableLog | None = None) -> None:
        self.driver = driver
        self.tables = tables
        """The table log whose bets, rolls and settle latencies are counted (None: none)."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.judged: dict[tuple[int, Reason], int] = {}
        self.revised = 0
        self.fork_versions = 0
        self.api_seconds = Histogram(
            "bitcraps_api_request_seconds",
            "Control API requests by method, and the seconds each took",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.issue_seconds = Histogram(
            "bitcraps_issue_seconds",
            "From a command to sign an own packet to its commit (accepted here)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.settle_seconds = Histogram(
            "bitcraps_settle_latency_seconds",
            "From an own bet's packet to the host packet that settles or releases it",
            buckets=SETTLE_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_NodeCollector(self))

    def observe(self, persist: Persist) -> None:
        """Count what one committed Persist judged (by kind and verdict) and revised."""
        judged = self.judged
        for event in persist.events:
            what, item = event.what, event.item
            if what == JUDGED:
                assert isinstance(item, Entry)
                reason = item.reason
                if reason is not None:
                    key = (frame_kind(item.frame), reason)
                    judged[key] = judged.get(key, 0) + 1
            elif what == REVISED:
                self.revised += 1
            elif what == FORK_KEPT:
                self.fork_versions += 1

        if self.tables is not None:
            for seconds in self.tables.take_latencies():
                self.settle_seconds.observe(seconds)

    def api(self, method: str, seconds: float) -> None:
        self.api_seconds.labels(method).observe(seconds)

    def text(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def snapshot(self) -> dict[str, object]:
        """Every sample as JSON: ``name: value``, or ``name: {"label=value,…": value}`` for
        labelled ones (histograms as their ``_bucket``, ``_count`` and ``_sum`` samples)."""
        out: dict[str, object] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                value = sample.value
                number: float | int = int(value) if float(value).is_integer() else value
                if sample.labels:
                    label = ",".join(f"{k}={v}" for k, v in sample.labels.items())
                    group = out.setdefault(sample.name, {})
                    assert isinstance(group, dict)
                    group[label] = number
                else:
                    out[sample.name] = number
        return out


class _NodeCollector(Collector):
    """Reads the node when a scrape (or ``stats``) asks."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        driver = metrics.driver
        core = driver.core
        replica = core.replica
        counters = core.counters
        now = trio.current_time()

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(name, doc, value=value)

        yield counter(
            "bitcraps_datagrams_received", "Datagrams received from links", driver.datagrams_in
        )
        yield counter("bitcraps_datagrams_sent", "Datagrams sent to links", driver.datagrams_out)
        yield counter("bitcraps_bytes_received", "Bytes of datagrams received", driver.bytes_in)
        yield counter("bitcraps_bytes_sent", "Bytes of datagrams sent", driver.bytes_out)
        yield counter(
            "bitcraps_frames_sent",
            "Ledger frames sent (own packets, relays, answers to pulls)",
            driver.frames_out,
        )
        yield counter(
            "bitcraps_frames_forwarded",
            "Frames of other senders pushed on to eager links once accepted",
            counters.get("forwarded", 0),
        )
        yield counter("bitcraps_frames_served", "Frames served to pulls", counters.get("served", 0))
        yield counter("bitcraps_send_errors", "Datagrams a transport failed to send",
                      driver.send_errors)  # fmt: skip
        yield counter(
            "bitcraps_duplicates", "Frames that arrived again", counters.get("duplicate", 0)
        )
        outcomes = CounterMetricFamily(
            "bitcraps_frames_verified",
            "Frames whose signature verified, by what ingesting them did",
            labels=["outcome"],
        )
        for outcome in _OUTCOMES:
            outcomes.add_metric([outcome], counters.get(outcome, 0))
        yield outcomes
        dropped = CounterMetricFamily(
            "bitcraps_frames_dropped",
            "Frames dropped without a penalty, by reason",
            labels=["reason"],
        )
        rejected = CounterMetricFamily(
            "bitcraps_frames_rejected",
            "Frames and messages rejected (a penalty to their link), by reason",
            labels=["reason"],
        )
        events = CounterMetricFamily(
            "bitcraps_node_events",
            "Everything else the node core counts, by event",
            labels=["event"],
        )
        for name, value in sorted(counters.items()):
            if name in _DROPS:
                dropped.add_metric([_DROPS[name]], value)
            elif name.startswith("dropped_"):
                dropped.add_metric([name.removeprefix("dropped_")], value)
            elif name.startswith("rejected_"):
                rejected.add_metric([name.removeprefix("rejected_")], value)
            elif name == "link_malformed":
                rejected.add_metric(["link_malformed"], value)
            elif name not in _FRAME_EVENTS:
                events.add_metric([name], value)
        yield dropped
        yield rejected
        yield events
        judged = CounterMetricFamily(
            "bitcraps_packets_judged",
            "Packets judged here, by kind and verdict (bets: kind=bet; tables: kind=create)",
            labels=["kind", "verdict"],
        )
        for (kind, reason), value in sorted(metrics.judged.items()):
            judged.add_metric([_kind_name(kind), reason.label], value)
        yield judged
        yield counter(
            "bitcraps_verdicts_revised", "Verdicts a late fork proof changed", metrics.revised
        )
        yield counter(
            "bitcraps_fork_versions_kept", "Fork versions kept as proofs", metrics.fork_versions
        )

        footprint = replica.footprint()
        yield GaugeMetricFamily(
            "bitcraps_held_back",
            "Verified packets held back for a missing predecessor",
            value=footprint["held"],
        )
        queues = GaugeMetricFamily(
            "bitcraps_queue_depth", "What waits in each bounded queue", labels=["queue"]
        )
        for name, value in sorted(core.queues().items()):
            queues.add_metric([name], value)
        queues.add_metric(["unjudged"], footprint["unjudged"])
        queues.add_metric(["waiting"], footprint["waiting"])
        queues.add_metric(["pull_marks"], footprint["pull_marks"])
        yield queues
        links = core.links.all()
        up = [lk for lk in links if lk.up]
        yield GaugeMetricFamily("bitcraps_links_up", "Neighbours linked", value=len(up))
        yield GaugeMetricFamily(
            "bitcraps_links_pending", "Handshakes in progress", value=len(links) - len(up)
        )
        scores = GaugeMetricFamily(
            "bitcraps_peer_score",
            "Each neighbour's penalty score (dropped and banned at the threshold)",
            labels=["peer"],
        )
        for link in up:
            assert link.key is not None
            scores.add_metric([link.key.hex()[:16]], link.score.value(now))
        yield scores
        state = replica.state
        yield GaugeMetricFamily(
            "bitcraps_senders", "Senders with a judged chain", value=len(state.senders)
        )
        yield GaugeMetricFamily("bitcraps_accounts", "Accounts", value=len(state.accounts))
        yield GaugeMetricFamily("bitcraps_supply", "Base units in existence", value=state.supply)
        tables = state.tables
        yield GaugeMetricFamily(
            "bitcraps_tables",
            "Tables in the replicated state",
            value=len(tables.map("tables")) if isinstance(tables, Tables) else 0,
        )
        log = metrics.tables
        if log is not None:
            yield counter(
                "bitcraps_bets_placed", "This node's bet entries judged Applied", log.bets_placed
            )
            ended = CounterMetricFamily(
                "bitcraps_bets_ended",
                "Bet entries that ended at the tables this node judges, by how (win, lose, "
                "push, returned, released_REASON)",
                labels=["how"],
            )
            for how, value in sorted(log.bets_ended.items()):
                ended.add_metric([how], value)
            yield ended
            yield counter("bitcraps_rolls_settled", "Rolls settled at any table", log.rolls_settled)
            yield counter("bitcraps_table_voids", "Voids signed by any host", log.voids)
            hosted = joined = 0
            policy = core.policy
            if isinstance(policy, TableAgent):
                for row in policy.describe(replica):
                    if row.get("role") == "host":
                        hosted += 1
                    else:
                        joined += 1
            yield GaugeMetricFamily(
                "bitcraps_tables_hosted", "Running tables this node hosts", value=hosted
            )
            yield GaugeMetricFamily(
                "bitcraps_tables_joined", "Tables this node sits at", value=joined
            )
        yield counter(
            "bitcraps_verified_in_worker", "Signatures checked in the worker process",
            driver.verified_in_worker,
        )  # fmt: skip
        yield counter(
            "bitcraps_verified_inline", "Signatures checked on the event loop",
            driver.verified_inline,
        )  # fmt: skip


async def serve_metrics(
    metrics: Metrics,
    port: int,
    *,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``GET /metrics`` over HTTP on 127.0.0.1:``port`` (0: a free one) until
    cancelled; reports the address bound."""
    listeners = await trio.open_tcp_listeners(port, host=METRICS_HOST)
    sock = listeners[0].socket
    host, bound = sock.getsockname()[:2]
    task_status.started((host, bound))

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            try:
                await _answer(metrics, stream)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            except Exception:
                log.exception("metrics request failed")

    await trio.serve_listeners(handle, listeners)


async def _answer(metrics: Metrics, stream: trio.SocketStream) -> None:
    request = b""
    with trio.move_on_after(HTTP_TIMEOUT):
        while b"\r\n\r\n" not in request and b"\n\n" not in request:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            request += chunk
            if len(request) > MAX_HTTP_REQUEST:
                break
    line = request.split(b"\r\n", 1)[0].split(b"\n", 1)[0].split()
    if len(line) < 2 or line[0] not in (b"GET", b"HEAD"):
        await _http(stream, b"405 Method Not Allowed", b"text/plain", b"GET /metrics\n")
        return
    path = line[1].split(b"?", 1)[0]
    if path not in (b"/metrics", b"/"):
        await _http(stream, b"404 Not Found", b"text/plain", b"metrics are at /metrics\n")
        return
    body = metrics.text()
    await _http(stream, b"200 OK", CONTENT_TYPE_LATEST.encode(), body, head=line[0] == b"HEAD")


async def _http(
    stream: trio.SocketStream, status: bytes, kind: bytes, body: bytes, *, head: bool = False
) -> None:
    header = (
        b"HTTP/1.0 " + status + b"\r\nContent-Type: " + kind + b"\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    )  # fmt: skip
    await stream.send_all(header if head else header + body)
