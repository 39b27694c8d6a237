"""End-to-end throughput, admission time and idle memory of the producer and consumer (real processes, loopback).

Prints: items/s drained producer -> consumer with processing time 0 and 1 ms, for the original serial sender
(concurrency 1) and for concurrency 8 and 16 with the consumer's concurrency raised to match; the time to admit a
burst of 10,000 items through POST /produce; and the idle RSS of each service.
Run: .venv/bin/python bench/throughput.py [--items N] [--tracing]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backpressure_lab.producer.routes import MAX_PRODUCE_BYTES
from bench.drain import drained_after, processed
from bench.machine import describe
from tests.services.lab import Lab, running_lab, settings_env, wait_until

PAUSED = "producer: {production_rate: 0, payload_bytes: 256}\n"


def drain_rate(lab: Lab, items: int, sender_concurrency: int, processing_ms: float) -> float:
    lab.consumer.admin(
        "/admin/config", {"processing_time_ms": processing_ms, "concurrency": max(sender_concurrency, 1)}
    )
    lab.producer.admin("/admin/config", {"sender_concurrency": sender_concurrency})
    before = lab.producer.status()["stats"]
    processed_before = processed(lab.consumer)
    started = time.monotonic()
    reply = lab.producer.post("/produce", {"count": items})
    assert reply.status == 200, reply
    elapsed = drained_after(lab.consumer, processed_before, items) - started

    def ended() -> bool:  # the last answers may still be on their way back to the producer
        stats = lab.producer.status()["stats"]
        return bool(stats["sent"] + stats["dropped"] - before["sent"] - before["dropped"] >= items)

    assert wait_until(ended, timeout=10), "the producer did not count every item's ending within 10 s"
    after = lab.producer.status()["stats"]
    assert after["dropped"] == before["dropped"], f"{after['dropped'] - before['dropped']} items dropped"
    return items / elapsed


def admission_seconds(lab: Lab, payload_bytes: int, count: int) -> float:
    lab.producer.admin("/admin/config", {"payload_bytes": payload_bytes, "sender_concurrency": 1})
    lab.consumer.admin("/admin/config", {"processing_time_ms": 60000, "concurrency": 1})
    timings = []
    for _ in range(3):
        started = time.monotonic()
        reply = lab.producer.post("/produce", {"count": count})
        timings.append(time.monotonic() - started)
        assert reply.body["produced"] == count, reply
        lab.producer.admin("/admin/clear-queue", {})
    return statistics.median(timings)


def idle_rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * 4096 / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--tracing", action="store_true", help="export traces over OTLP to --otlp-endpoint")
    parser.add_argument("--otlp-endpoint", default="http://127.0.0.1:4318")
    args = parser.parse_args()
    print(describe())
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": args.otlp_endpoint} if args.tracing else {}
    with (
        tempfile.TemporaryDirectory() as directory,
        running_lab(
            Path(directory), producer_env={**settings_env(Path(directory), PAUSED), **tracing}, consumer_env=tracing
        ) as lab,
    ):
        time.sleep(2)
        print(
            f"idle RSS: producer {idle_rss_mib(lab.producer.process.pid):.1f} MiB, "
            f"consumer {idle_rss_mib(lab.consumer.process.pid):.1f} MiB (target <= 60 MiB each)"
        )
        print(f"tracing: {'on, OTLP to ' + args.otlp_endpoint if args.tracing else 'off'}")
        for processing_ms in (0.0, 1.0):
            for concurrency in (1, 8, 16):
                items = args.items if concurrency > 1 else max(2000, args.items // 10)
                rate = drain_rate(lab, items, concurrency, processing_ms)
                print(
                    f"throughput: processing {processing_ms:g} ms, sender concurrency {concurrency:2d}: "
                    f"{rate:7.0f} items/s ({items} items)"
                )
        # One /produce adds at most MAX_PRODUCE_BYTES of payload: 10,000 small items, or 4,096 of 64 KiB.
        for payload, count in ((256, 10_000), (65536, MAX_PRODUCE_BYTES // 65536)):
            seconds = admission_seconds(lab, payload, count)
            print(
                f"admission: {count:,} items of {payload} B payload via POST /produce: "
                f"{seconds * 1000:.0f} ms (median of 3)"
            )


if __name__ == "__main__":
    main()
