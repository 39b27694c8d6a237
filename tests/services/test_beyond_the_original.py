"""The mechanisms the original lab never had, each proving its promise on real processes: CoDel, priorities,
watermarks with hysteresis, and Little's law."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.services.lab import Lab, metric_value

pytestmark = pytest.mark.services


def wait_buckets(lab: Lab) -> dict[str, float]:
    text = lab.producer.metrics()
    return {
        le: metric_value(text, "backpressure_queue_wait_seconds_bucket", le=le, service="producer")
        for le in ("1.0", "2.5", "+Inf")
    }


def share_within(before: dict[str, float], after: dict[str, float], le: str) -> tuple[float, float]:
    """Share of the waits observed between two scrapes that were <= `le` seconds, and how many there were."""
    total = after["+Inf"] - before["+Inf"]
    return ((after[le] - before[le]) / total if total else 1.0), total


def test_codel_keeps_the_wait_within_twice_its_target_where_unbounded_grows(lab: Lab) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 5})  # 2 items/s against 10 items/s: 5x overload
    time.sleep(2)
    before = wait_buckets(lab)
    time.sleep(10)
    after = wait_buckets(lab)
    unbounded_share, _ = share_within(before, after, "1.0")
    assert unbounded_share < 0.9, "the unbounded queue's wait should outgrow 1 s"

    lab.producer.admin("/admin/clear-queue", {})
    lab.producer.admin("/admin/config", {"queue_mode": "codel", "codel_target_ms": 500, "codel_interval_ms": 1000})
    time.sleep(5)
    before = wait_buckets(lab)
    start = lab.producer.status()["stats"]
    time.sleep(12)
    after = wait_buckets(lab)
    codel_share, served = share_within(before, after, "1.0")
    stats = lab.producer.status()["stats"]
    assert served >= 15
    assert codel_share >= 0.99, f"p99 queue wait above 2x the 500 ms target ({codel_share:.1%} within 1 s)"
    assert stats["expired"] - start["expired"] > 50
    assert stats["rejected"] == start["rejected"]
    assert lab.producer.status()["queue"]["codel_overloaded"] is True
    assert metric_value(lab.producer.metrics(), "backpressure_items_expired_total", service="producer") > 50


def test_high_priority_loses_nothing_at_twice_the_consumers_speed(lab: Lab) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 5})
    lab.producer.admin("/admin/clear-queue", {})
    lab.producer.admin(
        "/admin/config",
        {"queue_mode": "bounded", "max_queue_size": 20, "production_rate": 8, "high_priority_share": 0.3},
    )
    time.sleep(25)
    # Stop producing before reading: /status and /metrics are two reads, and a rejection between them is no mismatch.
    lab.producer.admin("/admin/config", {"production_rate": 0})
    priorities = lab.producer.status()["priorities"]
    assert priorities["high"]["produced"] > 30
    assert priorities["high"]["rejected"] == priorities["high"]["expired"] == 0
    assert priorities["low"]["rejected"] > 10
    text = lab.producer.metrics()
    assert metric_value(text, "backpressure_priority_items_total", outcome="rejected", priority="low",
                        service="producer") == priorities["low"]["rejected"]  # fmt: skip


def test_watermarks_oscillate_and_never_pass_the_high_mark(lab: Lab) -> None:
    lab.producer.admin(
        "/admin/config",
        {"queue_mode": "watermarks", "high_watermark": 80, "low_watermark": 20, "production_rate": 50},
    )
    depths, paused = [], []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        queue = lab.producer.status()["queue"]
        depths.append(queue["size"])
        paused.append(queue["watermark_paused"])
        time.sleep(0.1)
    assert max(depths) <= 80
    assert max(depths) >= 75
    pauses = sum(1 for was, now in itertools.pairwise(paused) if now and not was)
    assert pauses >= 2, depths
    after_first_pause = depths[paused.index(True) :]
    assert min(after_first_pause) <= 25, depths
    assert lab.producer.status()["stats"]["rejected"] == 0


def test_littles_law_holds_in_a_steady_state(lab: Lab) -> None:
    lab.producer.admin("/admin/config", {"queue_mode": "bounded", "max_queue_size": 50, "production_rate": 40})
    time.sleep(40)
    law = lab.producer.status()["littles_law"]
    assert law["depth"] > 40
    assert law["arrival_rate"] == pytest.approx(19, rel=0.2)  # what two senders at 100 ms (+ HTTP) admit
    assert law["error"] is not None
    assert abs(law["error"]) <= 0.15, law


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"low_watermark": 90, "high_watermark": 80}, "low_watermark must be < high_watermark"),
        ({"codel_target_ms": 0}, "codel_target_ms must be a number > 0"),
        ({"codel_target_ms": 1500}, "codel_target_ms must be < codel_interval_ms"),
        ({"high_priority_share": 2}, "high_priority_share must be a number >= 0 and <= 1"),
    ],
)
def test_contradictory_settings_are_refused_naming_both_fields(lab: Lab, body: dict[str, object], message: str) -> None:
    reply = lab.producer.post("/admin/config", body)
    assert reply.status == 400
    assert message in reply.body["error"]


@pytest.mark.parametrize("algorithm", ["aimd", "gradient"])
def test_adaptive_concurrency_settles_near_the_consumers_and_keeps_503s_under_one_percent(
    lab: Lab, algorithm: str
) -> None:
    lab.consumer.admin("/admin/config", {"processing_time_ms": 100, "concurrency": 4})
    lab.producer.admin(
        "/admin/config",
        {"sender_concurrency": 32, "adaptive_concurrency": algorithm, "production_rate": 100, "payload_bytes": 1024},
    )
    time.sleep(20)
    before = lab.consumer.status()["state"]
    limits = []
    for _ in range(15):
        limits.append(lab.producer.status()["stats"]["concurrency_limit"])
        time.sleep(1)
    after = lab.consumer.status()["state"]
    # Settled near the consumer's 4: the limit probes up and backs off, so most looks (not every one, on a loaded
    # machine where a slow round trip can shrink it for a moment) are within one of it, and the middle one is.
    assert sorted(limits)[len(limits) // 2] in {3, 4, 5}, limits
    assert sum(3 <= limit <= 5 for limit in limits) >= 0.8 * len(limits), limits
    refused = after["items_rejected"] - before["items_rejected"]
    served = after["items_processed"] - before["items_processed"]
    assert served > 400
    assert refused / served < 0.01, f"{refused} 503s for {served} processed"
    text = lab.producer.metrics()
    assert 2.0 <= metric_value(text, "backpressure_concurrency_limit", service="producer") <= 6.0
