"""The mechanisms the original lab never had, on real processes: what their exercises do not already show.

CoDel, priorities, watermarks, Little's law and AIMD concurrency each prove their promise once, in their exercise's
check (`bplab check 9` to `13`, run against local mode by tests/cli): those are wall-clock lessons, not worth playing
twice in CI. Here: the settings that contradict each other, and the gradient algorithm, which no exercise uses."""

from __future__ import annotations

import time

import pytest

from tests.services.lab import Lab, metric_value

pytestmark = pytest.mark.services


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


def test_gradient_concurrency_settles_near_the_consumers_and_keeps_503s_under_one_percent(lab: Lab) -> None:
    lab.consumer.admin("/admin/config", {"processing_time_ms": 100, "concurrency": 4})
    lab.producer.admin(
        "/admin/config",
        {"sender_concurrency": 32, "adaptive_concurrency": "gradient", "production_rate": 100, "payload_bytes": 1024},
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
