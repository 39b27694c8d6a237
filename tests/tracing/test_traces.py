"""Traces proved in a real Jaeger: the producer and the consumer export over OTLP/HTTP with the chart's OTEL_*
environment to Jaeger v2 running the chart's config; the assertions read Jaeger's query API, as the UI does.

The hop, as Jaeger shows it (one trace per item; every span of it carries the item's trace id):

    producer send_to_consumer                  item.id, queue.mode, queue.size, queue.latency_seconds,
    |                                          send.attempts, send.outcome (sent | dropped)
    +-- producer queue_wait                    [enqueue, dequeue]: the wait, as a bar
    +-- producer send_attempt (one per try)    send.attempt (1, 2, ...), send.response, send.attempt.outcome
        +-- producer POST            [client]  aiohttp instrumentation; carries the trace context
            +-- consumer POST /process [server] ASGI middleware (answers the 503s too)
                +-- consumer process_item      item.id, processing.seconds (only on the attempt that got in)
                +-- consumer POST /process http receive / http send   (ASGI internals)
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.services.lab import Lab, running_lab, settings_env, stop, wait_until
from tests.tracing.jaeger import CHART, Jaeger, Span, Trace, container_env

pytestmark = pytest.mark.services

# The consumer slowed to 250 ms an item with one sender: it drains 4 items/s while the generator makes 10/s.
PROCESSING_MS = 250
SLOWED_SECONDS = 5.0
SMALL_PAYLOAD = "payload_bytes: 1024"


def dashboard_search() -> tuple[str, str]:
    """The service and operation the Grafana dashboard's Jaeger link searches for."""
    dashboard = json.loads((CHART / "dashboards" / "backpressure-lab.json").read_text())
    (link,) = [link for link in dashboard["links"] if "/search?" in link["url"]]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link["url"]).query)
    return query["service"][0], query["operation"][0]


SERVICE, OPERATION = dashboard_search()


def otel_env(chart: list[dict[str, Any]], component: str, jaeger: Jaeger) -> dict[str, str]:
    """The chart's OTEL_* for `component`, with only the endpoint pointed at the test's Jaeger."""
    env = {name: value for name, value in container_env(chart, component).items() if name.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = jaeger.otlp_http_url
    return env


@contextmanager
def traced_lab(
    tmp_path: Path, chart: list[dict[str, Any]], jaeger: Jaeger, producer: str, consumer: str = ""
) -> Iterator[Lab]:
    producer_env = {**otel_env(chart, "producer", jaeger), **settings_env(tmp_path, f"producer: {{{producer}}}\n")}
    consumer_env = {**otel_env(chart, "consumer", jaeger), **settings_env(tmp_path, f"consumer: {{{consumer}}}\n")}
    with running_lab(tmp_path, producer_env, consumer_env) as lab:
        yield lab


def flush(lab: Lab) -> None:
    """Stop both services: their shutdown flushes the batch span processor, so every ended span is exported."""
    stop(lab.producer)
    stop(lab.consumer)


def traces_when_settled(jaeger: Jaeger, expected: int, timeout: float = 20) -> list[Trace]:
    """The dashboard search's traces, once there are `expected` of them and the span count stopped changing."""
    seen: list[list[Trace]] = [[]]

    def settled() -> bool:
        traces = jaeger.traces(SERVICE, OPERATION)
        before = sum(len(t.spans) for t in seen[-1])
        seen.append(traces)
        return len(traces) == expected and sum(len(t.spans) for t in traces) == before

    assert wait_until(settled, timeout, interval=0.5), (
        f"Jaeger holds {len(seen[-1])} {OPERATION} traces, expected {expected}"
    )
    return seen[-1]


def hop(trace: Trace) -> Span:
    """The trace's one producer send_to_consumer span, checked to be its only root."""
    roots = trace.roots
    assert [(r.service, r.name) for r in roots] == [(SERVICE, OPERATION)], trace.describe()
    assert trace.reachable() == len(trace.spans), f"spans with a missing parent:\n{trace.describe()}"
    return roots[0]


def attempts(root: Span) -> list[Span]:
    tries = root.children_named("send_attempt")
    assert [t.tags["send.attempt"] for t in tries] == list(range(1, len(tries) + 1)), root.describe()
    assert root.tags["send.attempts"] == len(tries)
    return tries


def client_span(attempt: Span) -> Span:
    (client,) = attempt.children
    assert (client.service, client.name, client.kind) == ("producer", "POST", "client"), attempt.describe()
    return client


def check_queue_wait(root: Span) -> float:
    """queue_wait starts with send_to_consumer and lasts queue.latency_seconds; return that latency."""
    wait = root.only_child("queue_wait")
    latency = root.tags["queue.latency_seconds"]
    assert isinstance(latency, float)
    assert latency >= 0
    assert wait.start_us == root.start_us
    # The attribute is read from the monotonic clock, the span's end from the wall clock a moment later.
    assert abs(wait.duration_us / 1e6 - latency) < 0.02, (wait.duration_us, latency)
    return latency


def check_sent_hop(trace: Trace, mode: str) -> Span:
    """One item's trace, sent: the exact chain send_to_consumer > send_attempt > POST > POST /process > process_item."""
    root = hop(trace)
    tags = root.tags
    assert tags["queue.mode"] == mode
    assert isinstance(tags["queue.size"], int)
    assert tags["queue.size"] >= 0
    assert isinstance(tags["item.id"], str)
    assert tags["item.id"]
    assert tags["send.outcome"] == "sent"
    check_queue_wait(root)
    tries = attempts(root)
    assert [t.tags["send.attempt.outcome"] for t in tries] == ["retried"] * (len(tries) - 1) + ["sent"]
    assert tries[-1].tags["send.response"] == "2xx"
    processed = []
    for attempt in tries:
        server = client_span(attempt).only_child("POST /process")
        assert (server.service, server.kind) == ("consumer", "server"), attempt.describe()
        processed += server.children_named("process_item")
    (item,) = processed
    assert item.service == "consumer"
    assert item.tags["item.id"] == tags["item.id"], "the consumer processed another item inside this trace"
    assert item.parent_id == client_span(tries[-1]).only_child("POST /process").span_id
    return root


def dequeued_us(root: Span) -> int:
    return root.only_child("queue_wait").end_us


def thirds(values: list[float]) -> tuple[float, float, float]:
    n = len(values) // 3
    return statistics.mean(values[:n]), statistics.mean(values[n : 2 * n]), statistics.mean(values[2 * n :])


MODES = {
    # mode: producer settings (the generator at 10 items/s, the consumer slowed to 4 items/s)
    "unbounded": "queue_mode: unbounded",
    "bounded": "queue_mode: bounded, max_queue_size: 5",
    "rate_limited": "queue_mode: rate_limited, rate_limit: 3, rate_limit_burst: 1",
    "block": "queue_mode: block, max_queue_size: 5",
}


@pytest.mark.parametrize("mode", list(MODES))
def test_one_trace_per_item_and_the_wait_in_each_queue_mode(
    mode: str, tmp_path: Path, chart: list[dict[str, Any]], jaeger: Jaeger
) -> None:
    producer = f"production_rate: 10, sender_concurrency: 1, {SMALL_PAYLOAD}, {MODES[mode]}"
    with traced_lab(tmp_path, chart, jaeger, producer, f"processing_time_ms: {PROCESSING_MS}") as lab:
        time.sleep(SLOWED_SECONDS)
        # Stop the generator and let the consumer run at full speed: every admitted item gets sent, then traced.
        sped_up_us = time.time_ns() // 1000
        lab.producer.admin("/admin/config", {"production_rate": 0})
        lab.consumer.admin("/admin/config", {"processing_time_ms": 0})

        def drained() -> bool:
            stats = lab.producer.status()["stats"]
            return bool(stats["sent"] + stats["dropped"] == stats["produced"] and stats["in_flight"] == 0)

        assert wait_until(drained, timeout=30)
        stats = lab.producer.status()["stats"]
        processed = lab.consumer.status()["state"]["items_processed"]
        flush(lab)

    assert stats["dropped"] == 0
    assert stats["sent"] == stats["produced"] == processed
    traces = traces_when_settled(jaeger, int(stats["sent"]))
    assert jaeger.services() == ["consumer", "producer"]  # the chart's OTEL_SERVICE_NAMEs, nothing else

    roots = [check_sent_hop(trace, mode) for trace in traces]
    ids = [root.tags["item.id"] for root in roots]
    assert len(set(ids)) == len(ids) == stats["sent"], "one trace per item, one item per trace"
    if mode == "bounded":
        # The full queue rejected items. A rejected item never reaches the sender, so it has no span at all: the
        # traces above are exactly the admitted items (sent == produced, which counts admissions only).
        assert stats["rejected"] > 0
    if mode == "rate_limited":
        assert stats["rate_limit_delays"] > 0  # the generator waited for tokens (it is paced, not rejected)

    # The wait over time: only the items dequeued while the consumer was slow.
    slow = sorted((r for r in roots if dequeued_us(r) < sped_up_us), key=dequeued_us)
    latencies = [r.tags["queue.latency_seconds"] for r in slow]
    sizes = [r.tags["queue.size"] for r in slow]
    first, middle, last = thirds(latencies)
    print(
        f"\n{mode}: {len(slow)} items dequeued while slowed; queue.latency_seconds by thirds "
        f"{first:.2f} / {middle:.2f} / {last:.2f}, max {max(latencies):.2f}; queue.size {sizes}"
    )
    assert len(slow) >= 12, f"only {len(slow)} items were sent in {SLOWED_SECONDS} s"
    seconds_per_item = PROCESSING_MS / 1000
    if mode == "unbounded":
        # The queue grows by ~6 items/s, so each item waits ~0.15 s longer than the one before it.
        assert first < middle < last, latencies
        assert last - first > 1.0, latencies
        assert sizes[-1] > sizes[0] + 5, sizes
    elif mode in ("bounded", "block"):
        # The queue fills to 5 within a second, then every item waits behind the same 5: a plateau near 1.25 s.
        plateau = latencies[len(latencies) // 2 :]
        assert max(sizes) <= 5, sizes
        assert max(latencies) < 6 * seconds_per_item + 0.5, latencies
        assert abs(last - middle) < 0.35, latencies
        assert max(plateau) - min(plateau) < 0.6, plateau
        assert statistics.mean(plateau) > 3 * seconds_per_item, plateau
    else:
        # Admission paced at 3/s below the 4/s drain: the queue stays (nearly) empty, nobody waits long.
        assert max(sizes) <= 2, sizes
        assert max(latencies) < 2 * seconds_per_item + 0.2, latencies


def test_retried_attempts_are_numbered_and_only_the_last_reaches_process_item(
    tmp_path: Path, chart: list[dict[str, Any]], jaeger: Jaeger
) -> None:
    # The consumer takes one item at a time and answers 503 + Retry-After to the others; the producer retries.
    producer = f"production_rate: 0, sender_concurrency: 3, retry_budget: 20, retry_backoff_ms: 50, {SMALL_PAYLOAD}"
    with traced_lab(tmp_path, chart, jaeger, producer, "processing_time_ms: 300, concurrency: 1") as lab:
        lab.producer.post("/produce", {"count": 6})
        assert wait_until(lambda: lab.producer.status()["stats"]["sent"] == 6, timeout=40)
        stats = lab.producer.status()["stats"]
        flush(lab)

    assert stats["retries"] > 0
    traces = traces_when_settled(jaeger, 6)
    roots = [check_sent_hop(trace, "unbounded") for trace in traces]
    retried = [root for root in roots if root.tags["send.attempts"] > 1]
    assert retried, "no item needed a retry"
    assert sum(root.tags["send.attempts"] - 1 for root in roots) == stats["retries"]
    for root in retried:
        for attempt in attempts(root)[:-1]:
            assert attempt.tags["send.response"] == "503"
            client = client_span(attempt)
            assert client.tags["http.status_code"] == 503
            assert client.tags["error"] is True
            # The refusal is the consumer's too: its server span exists, with no process_item under it.
            assert client.only_child("POST /process").children_named("process_item") == []

    # The same trace through the v3 query API (OTLP JSON): the same spans.
    trace = traces[0]
    body = jaeger.get(f"/api/v3/traces/{trace.trace_id}")
    v3_spans = [
        span
        for resource in body["result"]["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    assert sorted(s["name"] for s in v3_spans) == sorted(s.name for s in trace.spans)


def test_dropped_items_still_carry_their_queue_latency(
    tmp_path: Path, chart: list[dict[str, Any]], jaeger: Jaeger
) -> None:
    producer = f"production_rate: 0, retry_budget: 2, retry_backoff_ms: 10, {SMALL_PAYLOAD}"
    with traced_lab(tmp_path, chart, jaeger, producer) as lab:
        stop(lab.consumer)  # the consumer is gone: every attempt fails to connect
        lab.producer.post("/produce", {"count": 3})
        assert wait_until(lambda: lab.producer.status()["stats"]["dropped"] == 3, timeout=20)
        stats = lab.producer.status()["stats"]
        flush(lab)

    assert stats["sent"] == 0
    assert stats["retries"] == 6
    traces = traces_when_settled(jaeger, 3)
    for trace in traces:
        root = hop(trace)
        assert root.tags["send.outcome"] == "dropped"
        assert root.tags["error"] is True
        assert root.tags["otel.status_code"] == "ERROR"
        assert root.tags["queue.mode"] == "unbounded"
        assert isinstance(root.tags["item.id"], str)
        assert isinstance(root.tags["queue.size"], int)
        check_queue_wait(root)  # queue.latency_seconds is there although nothing was delivered
        tries = attempts(root)
        assert [t.tags["send.attempt.outcome"] for t in tries] == ["retried", "retried", "dropped"]
        assert {t.tags["send.response"] for t in tries} == {"error"}
        for attempt in tries:
            client = client_span(attempt)
            assert client.tags["error"] is True
            assert client.children == []
        assert {span.service for span in trace.spans} == {"producer"}
