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
    assert producer.sender_concurrency == 1
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
        ({"max_queue_size": "100"}, "max_queue_size must be an integer >= 1 and <= 1000000 (got '100')"),
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
        "senderConcurrency", "retryBudget", "retryBackoffMs", "sendTimeoutMs", "codelTargetMs", "codelIntervalMs",
        "highWatermark", "lowWatermark", "highPriorityShare", "adaptiveConcurrency",
    }  # fmt: skip
    assert props["queueMode"]["enum"] == [mode.value for mode in QueueMode]
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
