"""Pure: spec -> desired settings, the semantic checks beyond the schema, and drift detection."""

from __future__ import annotations

import pytest
import yaml

from backpressure_lab.operator.desired import InvalidSpecError, desired_settings, differences, settings_file


def test_omitted_fields_take_the_service_defaults() -> None:
    desired = desired_settings({"producer": {"queueMode": "bounded"}, "consumer": {"slowDownFactor": 5}})
    assert desired.producer.queue_mode == "bounded"
    assert desired.producer.production_rate == 10.0
    assert desired.consumer.slow_down_factor == 5
    assert desired.consumer.processing_time_ms == 100.0
    assert desired_settings({}).wire("consumer")["concurrency"] == 8


def test_the_wire_format_is_the_full_snake_case_set() -> None:
    desired = desired_settings({"consumer": {"processingTimeMs": 40}})
    wire = desired.wire("consumer")
    # slow_down_factor always travels with processing_time_ms, so the consumer never resets it.
    assert wire["processing_time_ms"] == 40
    assert wire["slow_down_factor"] == 1.0
    assert desired.camel_case()["consumer"]["processingTimeMs"] == 40


def test_a_rule_broken_only_once_defaults_are_filled_in_is_invalid() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        desired_settings({"consumer": {"processingMinMs": 300}})
    [problem] = caught.value.problems
    assert "spec.consumer.processingMinMs" in problem
    assert "spec.consumer.processingMaxMs" in problem


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"producer": {"productionRate": -1}}, "spec.producer.productionRate must be a number >= 0"),
        ({"producer": {"queueMode": "lossy"}}, "spec.producer.queueMode must be one of"),
        ({"producer": {"prodctionRate": 5}}, "spec.producer.prodctionRate is not a producer setting"),
        ({"consumer": "fast"}, "spec.consumer must be an object"),
    ],
)
def test_problems_name_the_spec_field(spec: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        desired_settings(spec)
    assert words in str(caught.value)


def test_differences_compare_numbers_closely_and_booleans_strictly() -> None:
    wanted = desired_settings({}).wire("consumer")
    live = dict(wanted, processing_time_ms=100, variable_processing=0)
    assert differences(live, wanted) == ["variable_processing"]
    assert differences({**wanted, "slow_down_factor": 1.0000000000001}, wanted) == []
    assert differences({}, wanted) == list(wanted)


def test_settings_file_is_what_the_services_read() -> None:
    text = settings_file(desired_settings({"producer": {"productionRate": 50}}), "lab")
    document = yaml.safe_load(text)
    assert document["producer"]["production_rate"] == 50
    assert set(document) == {"producer", "consumer"}
    assert text.startswith("# Written by the backpressure-lab operator from BackpressureConfig lab.")
