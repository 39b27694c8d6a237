"""Exercises 19 and 20 measured: the retry storm's amplification with and without each client-side limit.

Real processes on loopback, the exercises' own settings (cli/exercises.py: a consumer taking 20 items/s, 30 offered,
16 sends at once, every refused send retried at once, up to 20 times, Retry-After ignored), then the same with the
retry budget alone, the client-side throttle alone, and both (exercise 20). For each: requests the consumer received
per item it accepted, items it processed per second, items the producer dropped per second, and the CPU each process
spent per second (from /proc: what the storm costs on top of the work).
Run: .venv/bin/python bench/retry_storm.py [--seconds 20] [--rounds 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backpressure_lab.cli.exercises import BASELINE, RETRY_STORM, STORM_CONSUMER
from bench.machine import describe
from bench.one_hop import cpu_seconds
from tests.services.lab import Lab, running_lab

VARIANTS: dict[str, dict[str, Any]] = {
    "storm (exercise 19)": {},
    "retry budget 0.1 alone": {"retry_budget_ratio": 0.1},
    "client throttle K=2 alone": {"client_throttle_k": 2.0},
    "both (exercise 20)": {"retry_budget_ratio": 0.1, "client_throttle_k": 2.0},
    "default retries (backoff 100 ms, Retry-After)": {"retry_backoff_ms": 100.0, "honour_retry_after": True},
}


def measure(lab: Lab, changes: dict[str, Any], settle: float, seconds: float) -> dict[str, float]:
    lab.producer.admin("/admin/config", {**BASELINE.producer_settings(), **RETRY_STORM, **changes})
    lab.consumer.admin("/admin/config", {**BASELINE.consumer_settings(), **STORM_CONSUMER})
    lab.producer.admin("/admin/clear-queue", {})
    time.sleep(settle)
    pids = (lab.producer.process.pid, lab.consumer.process.pid)
    before = lab.consumer.status()["state"], lab.producer.status()["stats"], [cpu_seconds(pid) for pid in pids]
    started = time.monotonic()
    time.sleep(seconds)
    after = lab.consumer.status()["state"], lab.producer.status()["stats"], [cpu_seconds(pid) for pid in pids]
    elapsed = time.monotonic() - started
    processed = after[0]["items_processed"] - before[0]["items_processed"]
    refused = after[0]["items_rejected"] - before[0]["items_rejected"]
    return {
        "amplification": (processed + refused) / max(processed, 1),
        "processed_per_second": processed / elapsed,
        "dropped_per_second": (after[1]["dropped"] - before[1]["dropped"]) / elapsed,
        "held_back_per_second": sum(after[1][n] - before[1][n] for n in ("throttled", "retries_denied")) / elapsed,
        "producer_cpu": (after[2][0] - before[2][0]) / elapsed,
        "consumer_cpu": (after[2][1] - before[2][1]) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", nargs="*", type=int, help="variants by position (1 is the storm), default all")
    args = parser.parse_args()
    print(describe())
    print(f"{args.settle:g} s to settle, {args.seconds:g} s measured per variant, {args.rounds} round(s)\n")
    columns = ["variant", "requests per accepted item", "processed/s", "dropped/s", "held back/s", "producer CPU",
               "consumer CPU"]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as logs, running_lab(Path(logs)) as lab:
        for _ in range(args.rounds):
            for index, (name, changes) in enumerate(VARIANTS.items(), start=1):
                if args.only and index not in args.only:
                    continue
                m = measure(lab, changes, args.settle, args.seconds)
                print(
                    f"| {name} | {m['amplification']:.2f} | {m['processed_per_second']:.1f} | "
                    f"{m['dropped_per_second']:.1f} | {m['held_back_per_second']:.1f} | "
                    f"{100 * m['producer_cpu']:.0f}% | {100 * m['consumer_cpu']:.0f}% |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
