"""Throughput against the number of consumers (real processes, loopback): what autoscaling buys.

Each consumer serves at most `--consumer-concurrency` items at once for `--processing-ms` each; the producer offers
far more than they can take and lists 1, 2, ... N consumers (PUT /admin/consumers, as the operator does), sending
`sender_concurrency` per consumer. Prints items/s delivered and the speed-up over one consumer, and the 503 share.
Run: .venv/bin/python bench/scaling.py [--max-consumers 4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from tests.ports import free_port
from tests.services.lab import Service, call, metric_value, running_lab, start_service, stop


def responses(producer: Service, code: str) -> float:
    try:
        return metric_value(producer.metrics(), "backpressure_send_responses_total", service="producer", code=code)
    except KeyError:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-consumers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processing-ms", type=float, default=50.0)
    parser.add_argument("--consumer-concurrency", type=int, default=4)
    args = parser.parse_args()
    print(describe())
    print(
        f"consumers: {args.consumer_concurrency} at once x {args.processing_ms:g} ms "
        f"(capacity {1000 * args.consumer_concurrency / args.processing_ms:.0f} items/s each); "
        f"{args.seconds:g} s per step"
    )
    with tempfile.TemporaryDirectory() as tmp, running_lab(Path(tmp)) as lab:
        consumers = [lab.consumer]
        try:
            for _ in range(args.max_consumers - 1):
                consumers.append(start_service("consumer", free_port(), Path(tmp)))
            for consumer in consumers:
                consumer.admin(
                    "/admin/config",
                    {"processing_time_ms": args.processing_ms, "concurrency": args.consumer_concurrency},
                )
            lab.producer.admin(
                "/admin/config",
                {
                    "production_rate": 10000,
                    "payload_bytes": 256,
                    "queue_mode": "bounded",
                    "max_queue_size": 5000,
                    "sender_concurrency": args.consumer_concurrency,
                    "retry_budget": 20,
                },
            )
            baseline = 0.0
            for count in range(1, args.max_consumers + 1):
                listed = [c.url for c in consumers[:count]]
                assert call("PUT", lab.producer.url + "/admin/consumers", {"endpoints": listed}).status == 200
                time.sleep(2)
                sent0, ok0, busy0 = (
                    lab.producer.status()["stats"]["sent"],
                    *(responses(lab.producer, code) for code in ("2xx", "503")),
                )
                time.sleep(args.seconds)
                sent1, ok1, busy1 = (
                    lab.producer.status()["stats"]["sent"],
                    *(responses(lab.producer, code) for code in ("2xx", "503")),
                )
                rate = (sent1 - sent0) / args.seconds
                baseline = baseline or rate
                attempts = (ok1 - ok0) + (busy1 - busy0)
                print(
                    f"{count} consumer(s): {rate:7.1f} items/s  {rate / baseline:4.2f}x  "
                    f"503s {100 * (busy1 - busy0) / max(attempts, 1):.1f}% of attempts"
                )
        finally:
            for consumer in consumers[1:]:
                stop(consumer)


if __name__ == "__main__":
    main()
