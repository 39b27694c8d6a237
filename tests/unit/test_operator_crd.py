"""The committed CRD is exactly what the generator makes from the settings declaration."""

from __future__ import annotations

from pathlib import Path

import yaml

from backpressure_lab.common.settings import camel, declared
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.operator.autoscale_spec import AutoscaleSettings
from backpressure_lab.operator.crd import crd, render
from backpressure_lab.producer.settings import ProducerSettings

COMMITTED = Path(__file__).resolve().parents[2] / "charts" / "backpressure-lab" / "crds" / "backpressureconfigs.yaml"


def test_committed_crd_equals_the_generated_one() -> None:
    assert COMMITTED.read_text() == render(), (
        "charts/backpressure-lab/crds/backpressureconfigs.yaml is stale: run "
        "`python -m backpressure_lab.operator.crd > charts/backpressure-lab/crds/backpressureconfigs.yaml`"
    )


def test_every_declared_setting_is_in_the_spec_with_its_bounds() -> None:
    version = crd()["spec"]["versions"][0]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    autoscale = spec["consumer"]["properties"]["autoscale"]
    for properties, settings_type in (
        (spec["producer"]["properties"], ProducerSettings),
        ({k: v for k, v in spec["consumer"]["properties"].items() if k != "autoscale"}, ConsumerSettings),
        (autoscale["properties"], AutoscaleSettings),
    ):
        assert list(properties) == [camel(name) for name in declared(settings_type)]
        for name, bounds in declared(settings_type).items():
            prop = properties[camel(name)]
            assert prop["description"].startswith(bounds.description)
            assert "default" not in prop  # omitted means "service default", resolved by the operator
            if bounds.maximum is not None:
                assert prop["maximum"] == bounds.maximum
            if bounds.choices:
                assert prop["enum"] == list(bounds.choices)
    assert spec["consumer"]["properties"]["slowDownFactor"]["exclusiveMinimum"] is True
    assert "concurrency" in spec["consumer"]["properties"]
    assert spec["consumer"]["x-kubernetes-validations"]
    assert autoscale["x-kubernetes-validations"] == [
        {
            "rule": "(has(self.minReplicas) ? self.minReplicas : 1) <= (has(self.maxReplicas) ? self.maxReplicas : 4)",
            "message": "minReplicas must be <= maxReplicas (an omitted one is its default: minReplicas 1, "
            "maxReplicas 4)",
            "fieldPath": ".minReplicas",
        }
    ]


def test_every_cel_rule_folds_in_the_defaults_of_the_fields_it_compares() -> None:
    """`lowWatermark: 90` alone must be refused at `kubectl apply`: the omitted highWatermark is 80."""
    spec = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    rules = {rule["fieldPath"]: rule for section in ("producer", "consumer") for rule in
             spec[section]["x-kubernetes-validations"]}  # fmt: skip
    assert rules[".lowWatermark"]["rule"] == (
        "(has(self.lowWatermark) ? self.lowWatermark : 20) < (has(self.highWatermark) ? self.highWatermark : 80)"
    )
    assert rules[".codelTargetMs"]["rule"] == (
        "(has(self.codelTargetMs) ? self.codelTargetMs : 500.0) < "
        "(has(self.codelIntervalMs) ? self.codelIntervalMs : 1000.0)"
    )
    assert "processingMaxMs 200" in rules[".processingMinMs"]["message"]
    assert "!has(" not in str(rules)


def test_status_subresource_printer_columns_and_names() -> None:
    document = yaml.safe_load(COMMITTED.read_text())
    assert document["metadata"]["name"] == "backpressureconfigs.lab.backpressure.dev"
    names = document["spec"]["names"]
    assert (names["kind"], names["shortNames"], document["spec"]["scope"]) == (
        "BackpressureConfig",
        ["bpc"],
        "Namespaced",
    )
    version = document["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Mode", "Rate", "Processing-ms", "Ready", "Applied", "OOM-Kills", "Consumers", "Age"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    for field in (
        "observedGeneration",
        "conditions",
        "settings",
        "pods",
        "autoscale",
        "oomKills",
        "lastOOMKill",
        "oomKillsCounted",
    ):
        assert field in status
