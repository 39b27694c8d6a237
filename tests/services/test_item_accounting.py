"""Every item the producer admits is accounted for, whatever happens: a fault matrix over the six queue modes.

After each fault the identity produced = sent + dropped + expired + evicted + cleared + queued + in delivery is checked
twice, from /status and, separately, from the Prometheus counters and gauges alone; both must show 0 unaccounted.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from backpressure_lab.producer.settings import QueueMode
from backpressure_lab.producer.tallies import ENDINGS, Tally, unaccounted
from tests.services.lab import Lab, metric_value, running_lab, start_service, stop, wait_until

pytestmark = pytest.mark.services

# Fast enough that every fault leaves items in each state, small enough for a 2-core machine.
LOAD = {"production_rate": 60, "payload_bytes": 1024, "sender_concurrency": 4, "send_timeout_ms": 400,
        "retry_budget": 2, "retry_backoff_ms": 20, "max_queue_size": 30, "rate_limit": 30, "high_watermark": 30,
        "low_watermark": 10, "codel_target_ms": 50, "codel_interval_ms": 100}  # fmt: skip


def from_status(lab: Lab) -> float:
    status = lab.producer.status()
    return unaccounted(status["stats"], status["queue"]["size"], status["stats"]["in_delivery"])


def from_metrics(lab: Lab) -> float:
    text = lab.producer.metrics()

    def value(name: str) -> float:
        return metric_value(text, name, service="producer")

    counts = {str(t): value(f"backpressure_items_{t}_total") for t in (Tally.PRODUCED, *ENDINGS)}
    return unaccounted(counts, int(value("backpressure_queue_depth")), int(value("backpressure_items_in_delivery")))


def stop_the_consumer_past_the_send_timeout(lab: Lab, log_dir: Path) -> None:
    os.killpg(lab.consumer.process.pid, signal.SIGSTOP)
    time.sleep(1.0)
    os.killpg(lab.consumer.process.pid, signal.SIGCONT)


def kill_and_restart_the_consumer(lab: Lab, log_dir: Path) -> None:
    port = lab.consumer.port
    os.killpg(lab.consumer.process.pid, signal.SIGKILL)
    lab.consumer.process.wait()
    time.sleep(0.5)
    lab.consumer = start_service("consumer", port, log_dir)
    lab.services = [lab.producer, lab.consumer]


def clear_the_queue(lab: Lab, log_dir: Path) -> None:
    # With something queued, whatever the mode: the consumer slowed until a backlog stands, then cleared under load.
    lab.consumer.admin("/admin/slow-down", {"factor": 50})
    assert wait_until(lambda: lab.producer.status()["queue"]["size"] >= 3, timeout=10)
    lab.producer.admin("/admin/clear-queue", {})
    lab.consumer.admin("/admin/speed-up", {"factor": 50})


def slow_down_then_speed_up(lab: Lab, log_dir: Path) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 20})
    time.sleep(0.8)
    lab.consumer.admin("/admin/speed-up", {"factor": 20})


def shrink_the_queue(lab: Lab, log_dir: Path) -> None:
    lab.producer.admin("/admin/config", {"max_queue_size": 3, "high_watermark": 3, "low_watermark": 1})
    time.sleep(0.3)
    lab.producer.admin("/admin/config", {"max_queue_size": 30, "high_watermark": 30, "low_watermark": 10})


def high_priority_under_pressure(lab: Lab, log_dir: Path) -> None:
    lab.producer.admin("/admin/config", {"high_priority_share": 0.3})
    lab.consumer.admin("/admin/slow-down", {"factor": 10})
    time.sleep(1.0)
    lab.consumer.admin("/admin/speed-up", {"factor": 10})
    lab.producer.admin("/admin/config", {"high_priority_share": 0})


def burst_of_produce(lab: Lab, log_dir: Path) -> None:
    for _ in range(5):
        lab.producer.post("/produce", {"count": 50})


def switch_modes(lab: Lab, log_dir: Path) -> None:
    for mode in QueueMode:
        lab.producer.admin("/admin/config", {"queue_mode": mode.value})
        time.sleep(0.15)


def retry_storm_under_both_limits(lab: Lab, log_dir: Path) -> None:
    # Refused sends retried at once while the retry budget and the client-side throttle hold some back: a denied
    # retry ends its item as dropped, a throttled attempt never reaches the consumer.
    storm = {"retry_budget": 20, "retry_backoff_ms": 0, "honour_retry_after": False, "retry_budget_ratio": 0.1,
             "client_throttle_k": 2}  # fmt: skip
    lab.producer.admin("/admin/config", storm)
    lab.consumer.admin("/admin/config", {"concurrency": 1})
    time.sleep(1.5)
    lab.consumer.admin("/admin/config", {"concurrency": 4})
    calm = {"retry_budget": LOAD["retry_budget"], "retry_backoff_ms": LOAD["retry_backoff_ms"],
            "honour_retry_after": True, "retry_budget_ratio": 0, "client_throttle_k": 0}  # fmt: skip
    lab.producer.admin("/admin/config", calm)


FAULTS: list[Callable[[Lab, Path], None]] = [
    stop_the_consumer_past_the_send_timeout,
    kill_and_restart_the_consumer,
    clear_the_queue,
    slow_down_then_speed_up,
    shrink_the_queue,
    high_priority_under_pressure,
    burst_of_produce,
    retry_storm_under_both_limits,
    switch_modes,
]


@pytest.mark.parametrize("mode", [mode.value for mode in QueueMode])
def test_every_item_is_accounted_for_after_every_fault(tmp_path: Path, mode: str) -> None:
    mismatches: list[str] = []
    with running_lab(tmp_path) as lab:
        try:
            lab.producer.admin("/admin/config", {**LOAD, "queue_mode": mode})
            lab.consumer.admin("/admin/config", {"processing_time_ms": 20, "concurrency": 4})
            for fault in FAULTS:
                lab.producer.admin("/admin/config", {"queue_mode": mode})
                fault(lab, tmp_path)
                for where, check in (("/status", from_status), ("/metrics", from_metrics)):
                    gap = check(lab)
                    if gap != 0:
                        mismatches.append(f"{fault.__name__}: {gap:+g} unaccounted by {where}")
            stats = lab.producer.status()["stats"]
        finally:
            stop(lab.consumer)
    assert mismatches == []
    # The faults really moved items through the states the identity counts.
    assert stats["produced"] > 100
    assert stats["sent"] > 0
    assert stats["cleared"] > 0
    assert stats["retries"] > 0
    assert stats["throttled"] > 0
    assert stats["retries_denied"] > 0
