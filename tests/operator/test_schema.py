"""The API server itself rejects a bad spec at `kubectl apply`, naming the field; `kubectl explain` teaches."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from tests.controlplane.cluster import ControlPlane
from tests.operator.harness import bpc, helm_template

pytestmark = pytest.mark.controlplane


def kubectl_apply(plane: ControlPlane, namespace: str, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(plane.binaries.kubectl), f"--kubeconfig={plane.admin_kubeconfig}", "-n", namespace, "apply", "-f", "-"],
        input=yaml.safe_dump(document), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        ({"producer": {"productionRate": "fast"}}, "spec.producer.productionRate", "must be of type number"),
        ({"producer": {"productionRate": 20000}}, "spec.producer.productionRate", "less than or equal to 10000"),
        ({"producer": {"queueMode": "lossy"}}, "spec.producer.queueMode", "supported values"),
        ({"consumer": {"slowDownFactor": 0}}, "spec.consumer.slowDownFactor", "greater than 0"),
        ({"consumer": {"concurrency": 1.5}}, "spec.consumer.concurrency", "must be of type integer"),
        ({"consumer": {"processingMinMs": 300, "processingMaxMs": 100}}, "spec.consumer", "processingMinMs must be <="),
        ({"producer": {"prodctionRate": 5}}, "spec.producer.prodctionRate", "unknown field"),
        # One side of a pair alone: the other is its default (highWatermark 80, processingMaxMs 200, ...).
        ({"producer": {"lowWatermark": 90}}, "spec.producer.lowWatermark", "lowWatermark must be < highWatermark"),
        ({"producer": {"codelTargetMs": 1500}}, "spec.producer.codelTargetMs", "codelTargetMs must be <"),
        ({"consumer": {"processingMinMs": 300}}, "spec.consumer.processingMinMs", "processingMinMs must be <="),
        ({"consumer": {"autoscale": {"minReplicas": 5}}}, "spec.consumer.autoscale.minReplicas", "minReplicas must"),
    ],
    ids=[
        "wrong-type",
        "out-of-range",
        "unknown-mode",
        "exclusive-minimum",
        "integer",
        "cel-rule",
        "typo",
        "low-watermark-alone",
        "codel-target-alone",
        "processing-min-alone",
        "min-replicas-alone",
    ],
)
def test_apply_of_a_bad_spec_is_rejected_naming_the_field(
    control_plane: ControlPlane, crd_installed: str, namespace: str, case: tuple[dict[str, Any], str, str]
) -> None:
    spec, field, words = case
    result = kubectl_apply(control_plane, namespace, bpc("bad", spec))
    assert result.returncode != 0, result.stdout
    assert field in result.stderr, result.stderr
    assert words.lower() in result.stderr.lower(), result.stderr


def test_a_valid_spec_is_accepted(control_plane: ControlPlane, crd_installed: str, namespace: str) -> None:
    spec = {"producer": {"queueMode": "rate_limited", "rateLimit": 2}, "consumer": {"slowDownFactor": 5}}
    result = kubectl_apply(control_plane, namespace, bpc("good", spec))
    assert result.returncode == 0, result.stderr
    assert control_plane.kubectl("-n", namespace, "get", "bpc", "good", "-o", "name").strip().endswith("/good")


def test_kubectl_explain_teaches_bounds_and_modes(control_plane: ControlPlane, crd_installed: str) -> None:
    producer = control_plane.kubectl("explain", "bpc.spec.producer")
    assert "queueMode" in producer
    assert "rate_limited" in producer
    rate = control_plane.kubectl("explain", "bpc.spec.producer.productionRate")
    assert ">= 0 and <= 10000" in rate
    assert "items/s" in rate
    consumer = control_plane.kubectl("explain", "bpc.spec.consumer")
    assert "slowDownFactor" in consumer
    assert "concurrency" in consumer
    status = control_plane.kubectl("explain", "bpc.status")
    assert "oomKills" in status
    assert "conditions" in status


def test_the_charts_default_config_is_accepted(control_plane: ControlPlane, crd_installed: str, namespace: str) -> None:
    rendered = helm_template(namespace, "templates/backpressureconfig.yaml")
    document = yaml.safe_load(rendered)
    assert document["kind"] == "BackpressureConfig"
    assert document["metadata"]["name"] == "backpressure-lab"  # what examples/ name, whatever the release
    result = kubectl_apply(control_plane, namespace, document)
    assert result.returncode == 0, result.stderr


def test_the_operator_deployment_passes_server_side_validation(
    control_plane: ControlPlane, crd_installed: str, namespace: str
) -> None:
    rendered = helm_template(namespace, "templates/operator-deployment.yaml")
    result = subprocess.run(
        [str(control_plane.binaries.kubectl), f"--kubeconfig={control_plane.admin_kubeconfig}", "-n", namespace,
         "apply", "--dry-run=server", "-f", "-"],
        input=rendered, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    deployment = yaml.safe_load(rendered)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["bplab-operator"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "liveness"}
    env = {e["name"] for e in container["env"]}
    assert {"POD_NAMESPACE", "BPLAB_RELEASE", "BPLAB_SETTINGS_CONFIGMAP", "BPLAB_ADMIN_TOKEN"} <= env
