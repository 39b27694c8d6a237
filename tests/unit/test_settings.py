from __future__ import annotations

import pytest

from backpressure_lab.common.settings import SettingsError, apply_changes, as_dict, declared, json_schema
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.producer.settings import ProducerSettings, QueueMode


def test_defaults_are_the_original_labs() -> None:
    producer = ProducerSettings()
    consumer = ConsumerSettings()
    assert (producer.production_rate, producer.queue_mode, producer.max_queue_size, producer.rate_limit) == (
        10.0,
        "unbounded",
        100,
        5.0,
    )
    # Not the original's one sender: one falls 0.35 items/s behind the 10 produced (README, exercise 1).
    assert producer.sender_concurrency == 2
    assert producer.produce_overload_status == 200  # the original's /produce answered 200 with the counts
    assert (consumer.processing_time_ms, consumer.processing_min_ms, consumer.processing_max_ms) == (100.0, 50.0, 200.0)
    assert consumer.variable_processing is False


def test_changes_are_typed_and_applied_together() -> None:
    updated = apply_changes(ProducerSettings(), {"queue_mode": "bounded", "max_queue_size": 250.0, "rate_limit": 2})
    assert updated.mode is QueueMode.BOUNDED
    assert updated.max_queue_size == 250
    assert isinstance(updated.max_queue_size, int)
    assert updated.rate_limit == 2.0
    assert isinstance(updated.rate_limit, float)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rate_limit": 0}, "rate_limit must be a number > 0 and <= 10000 (got 0)"),
        ({"production_rate": -1}, "production_rate must be a number >= 0 and <= 10000 (got -1)"),
        (
            {"queue_mode": "fifo"},
            "queue_mode must be one of unbounded, bounded, rate_limited, block, codel, watermarks (got 'fifo')",
        ),
        ({"low_watermark": 80, "high_watermark": 80}, "low_watermark must be < high_watermark"),
        ({"codel_target_ms": 0}, "codel_target_ms must be a number > 0"),
        ({"codel_target_ms": 2000, "codel_interval_ms": 1000}, "codel_target_ms must be < codel_interval_ms"),
        ({"high_priority_share": 1.5}, "high_priority_share must be a number >= 0 and <= 1 (got 1.5)"),
        ({"max_queue_size": 1.5}, "max_queue_size must be an integer >= 1 and <= 1000000 (got 1.5)"),
        ({"max_queue_size": "a hundred"}, "max_queue_size must be an integer >= 1 and <= 1000000 (got 'a hundred')"),
        ({"max_queue_size": 100.5}, "max_queue_size must be an integer >= 1 and <= 1000000 (got 100.5)"),
        ({"produce_overload_status": 503}, "produce_overload_status must be one of 200, 429 (got 503)"),
        ({"rate_limit": 5e-324}, "rate_limit must be a number > 0 and <= 10000 (got 5e-324); values closer to 0"),
        ({"production_rate": 10**400}, "production_rate must be a number >= 0 and <= 10000 (got 1000000000"),
        ({"production_rate": "1e400"}, "production_rate must be a number >= 0 and <= 10000 (got '1e400')"),
        ({"sender_concurrency": True}, "sender_concurrency must be an integer >= 1 and <= 256 (got True)"),
        ({"production_rate": float("nan")}, "production_rate must be a number >= 0 and <= 10000 (got nan)"),
        ({"queue_size": 5}, "unknown setting 'queue_size'; allowed settings: production_rate, queue_mode"),
    ],
)
def test_bad_values_name_the_field_and_its_range(changes: dict[str, object], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        apply_changes(ProducerSettings(), changes)
    assert expected in str(caught.value)


def test_one_bad_field_changes_nothing() -> None:
    current = ProducerSettings()
    with pytest.raises(SettingsError) as caught:
        apply_changes(current, {"production_rate": 50, "queue_mode": "nope"})
    assert len(caught.value.problems) == 1
    assert current.production_rate == 10.0


def test_cross_field_rule_names_both_fields() -> None:
    with pytest.raises(SettingsError, match="processing_min_ms must be <= processing_max_ms"):
        apply_changes(ConsumerSettings(), {"processing_min_ms": 300, "processing_max_ms": 200})
    assert (
        apply_changes(ConsumerSettings(), {"processing_min_ms": 200, "processing_max_ms": 200}).processing_min_ms == 200
    )


def test_zero_slow_down_factor_is_refused() -> None:
    with pytest.raises(SettingsError, match="slow_down_factor must be a number > 0"):
        apply_changes(ConsumerSettings(), {"slow_down_factor": 0})


def test_schema_carries_bounds_enums_and_descriptions() -> None:
    schema = json_schema(ProducerSettings, camel_case=True)
    props = schema["properties"]
    assert set(props) == {
        "productionRate", "queueMode", "maxQueueSize", "rateLimit", "rateLimitBurst", "payloadBytes",
        "senderConcurrency", "retryBudget", "retryBackoffMs", "honourRetryAfter", "retryBudgetRatio", "clientThrottleK",
        "sendTimeoutMs", "codelTargetMs", "codelIntervalMs",
        "highWatermark", "lowWatermark", "highPriorityShare", "itemDeadlineMs", "dequeueOrder",
        "produceOverloadStatus",
        "adaptiveConcurrency",
    }  # fmt: skip
    assert props["queueMode"]["enum"] == [mode.value for mode in QueueMode]
    assert props["produceOverloadStatus"] == props["produceOverloadStatus"] | {"type": "integer", "enum": [200, 429]}
    assert props["rateLimit"] == props["rateLimit"] | {"minimum": 0, "exclusiveMinimum": True, "maximum": 10000}
    assert props["maxQueueSize"]["type"] == "integer"
    assert "Capacity of the queue" in props["maxQueueSize"]["description"]


def test_draft07_schema_uses_numeric_exclusive_minimum() -> None:
    props = json_schema(ProducerSettings, dialect="draft-07")["properties"]
    assert props["rate_limit"]["exclusiveMinimum"] == 0
    assert "minimum" not in props["rate_limit"]


def test_consumer_schema_has_the_cel_rule() -> None:
    schema = json_schema(ConsumerSettings, camel_case=True)
    assert schema["x-kubernetes-validations"][0]["message"] == "processing_min_ms must be <= processing_max_ms"


def test_as_dict_covers_every_declared_setting() -> None:
    assert list(as_dict(ConsumerSettings())) == list(declared(ConsumerSettings))


def test_numeric_strings_and_whole_floats_are_accepted_as_the_original_did() -> None:
    changes = {"production_rate": "20", "max_queue_size": 50.0, "rate_limit": " 2.5 "}
    changed = apply_changes(ProducerSettings(), changes)
    assert (changed.production_rate, changed.max_queue_size, changed.rate_limit) == (20.0, 50, 2.5)
    assert type(changed.max_queue_size) is int


def test_settings_read_back_as_integers_when_whole() -> None:
    shown = as_dict(apply_changes(ProducerSettings(), {"production_rate": 20.0, "rate_limit": 2.5}))
    assert type(shown["production_rate"]) is int
    assert shown["production_rate"] == 20
    assert shown["rate_limit"] == 2.5


def test_a_huge_value_is_echoed_cut_short() -> None:
    with pytest.raises(SettingsError) as caught:
        apply_changes(ProducerSettings(), {"queue_mode": "x" * 5_000_000})
    assert len(str(caught.value)) < 400
