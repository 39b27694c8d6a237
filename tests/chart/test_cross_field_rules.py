"""Rules between two settings hold at every layer: the chart refuses them at `helm install` with the same message the
services' HTTP API gives, and the CRD carries them as CEL rules."""

from __future__ import annotations

import pytest

from backpressure_lab.common.settings import SettingsError, apply_changes, camel, rules_of
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.operator.autoscale_spec import AutoscaleSettings
from backpressure_lab.producer.settings import ProducerSettings
from tests.chart.helm import Helm, HelmError

pytestmark = pytest.mark.controlplane

CASES = [
    ("producer", ProducerSettings, {"low_watermark": 90, "high_watermark": 80}),
    ("producer", ProducerSettings, {"codel_target_ms": 1500, "codel_interval_ms": 1000}),
    ("consumer", ConsumerSettings, {"processing_min_ms": 300, "processing_max_ms": 100}),
    ("consumer.autoscale", AutoscaleSettings, {"min_replicas": 5, "max_replicas": 2}),
]


@pytest.mark.parametrize(("section", "settings_type", "changes"), CASES)
def test_helm_refuses_what_the_http_api_refuses(
    helm: Helm, section: str, settings_type: type, changes: dict[str, float]
) -> None:
    with pytest.raises(SettingsError) as http_error:
        apply_changes(settings_type(), changes)
    first, second = changes
    with pytest.raises(HelmError) as helm_error:
        helm.template(sets={f"config.spec.{section}.{camel(name)}": str(value) for name, value in changes.items()})
    message = helm_error.value.stderr
    assert f"config.spec.{section}: {camel(first)} must be" in message
    assert camel(second) in message
    assert str(http_error.value).split(" must be ")[1].split()[0] in message


def test_every_rule_of_the_declaration_is_checked_by_the_chart() -> None:
    chart_rules = {tuple(changes) for _, _, changes in CASES}
    declared = {
        rule.fields for rule in (*rules_of(ProducerSettings), *rules_of(ConsumerSettings), *rules_of(AutoscaleSettings))
    }
    assert declared == chart_rules, "add the new rule to templates/validate.yaml and to CASES"


@pytest.mark.parametrize(
    ("name", "value"), [("lowWatermark", "90"), ("codelTargetMs", "1500"), ("processingMinMs", "300")]
)
def test_one_side_of_a_pair_alone_is_judged_against_the_others_default(helm: Helm, name: str, value: str) -> None:
    section = "consumer" if name == "processingMinMs" else "producer"
    with pytest.raises(HelmError) as refused:
        helm.template(sets={f"config.spec.{section}.{name}": value})
    assert "an omitted one is its default" in refused.value.stderr


def test_valid_pairs_render(helm: Helm) -> None:
    sets = {"config.spec.producer.lowWatermark": "10", "config.spec.producer.highWatermark": "11"}
    assert helm.template(sets=sets)
