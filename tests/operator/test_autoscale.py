"""spec.consumer.autoscale on the real control plane: the operator lists the ready consumers to the producer, scales
the consumer Deployment (the chart's, under the chart's Role) up at once when the queue is deep, and back down one pod
per cooldown once the load fits fewer, recording each step as an event and in status.autoscale."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.operator.harness import (
    ADMIN_TOKEN,
    CONSUMER_DEPLOYMENT,
    LoopbackPodStandIn,
    OperatorLab,
    bpc,
    helm_template,
    wait_for,
)
from tests.ports import free_port
from tests.services.lab import call

pytestmark = pytest.mark.controlplane

AUTOSCALE = {"minReplicas": 1, "maxReplicas": 3, "metric": "queue_depth", "target": 10, "cooldownSeconds": 4}
# One slow consumer slot against 40 items/s: the queue deepens by ~38 items/s.
OVERLOAD = {
    "producer": {"productionRate": 40, "payloadBytes": 256, "queueMode": "bounded", "maxQueueSize": 5000},
    "consumer": {"processingTimeMs": 500, "concurrency": 1, "autoscale": AUTOSCALE},
}


def replicas(lab: OperatorLab) -> int:
    scale = client.AppsV1Api(lab.api).read_namespaced_deployment_scale(CONSUMER_DEPLOYMENT, lab.namespace)
    assert scale.spec is not None
    return int(scale.spec.replicas or 0)


def scaled_events(lab: OperatorLab) -> list[str]:
    events = sorted(lab.events("lab", "Scaled"), key=lambda e: str(e.metadata.creation_timestamp if e.metadata else ""))
    return [str(e.message) for e in events]


def listed_consumers(lab: OperatorLab) -> list[str]:
    body = call("GET", lab.pod("producer").service.url + "/admin/consumers", token=ADMIN_TOKEN).body  # type: ignore[union-attr]
    assert isinstance(body, dict)
    return sorted(body["endpoints"])


def autoscale_status(lab: OperatorLab) -> dict[str, Any]:
    return dict((lab.config("lab").get("status") or {}).get("autoscale") or {})


def test_the_producer_is_told_every_ready_consumer(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    first = lab.pod("consumer")
    wait_for(lambda: listed_consumers(lab) == [f"http://127.0.0.1:{first.port}"], 15, "the one consumer listed")

    second = LoopbackPodStandIn(lab.core, lab.namespace, "lab-consumer-1", "consumer", free_port(), first.log_dir,
                                {"BPLAB_ADMIN_TOKEN": ADMIN_TOKEN})  # fmt: skip
    lab.pods.append(second)
    second.create()
    second.start_process()
    second.set_status(ready=True)
    both = sorted(f"http://127.0.0.1:{pod.port}" for pod in (first, second))
    wait_for(lambda: listed_consumers(lab) == both, 15, "both consumers listed")
    assert lab.pod("producer").service.status()["consumers"]["count"] == 2  # type: ignore[union-attr]

    second.set_status(ready=False)
    wait_for(lambda: listed_consumers(lab) == [f"http://127.0.0.1:{first.port}"], 15, "only the ready one listed")


def test_the_consumer_deployment_scales_up_at_once_and_down_one_pod_per_cooldown(operator_lab: OperatorLab) -> None:
    lab = operator_lab
    manifest = helm_template(
        lab.namespace, "templates/consumer-deployment.yaml", values={"config.spec.consumer.autoscale": AUTOSCALE}
    )
    assert "replicas:" not in manifest.split("template:")[0], "the chart must leave the replicas to the operator"
    path = lab.pod("consumer").log_dir / "consumer-deployment.yaml"
    path.write_text(manifest)
    lab.plane.kubectl("-n", lab.namespace, "apply", "-f", str(path))
    assert replicas(lab) == 1

    result = lab.kubectl_apply(bpc("lab", OVERLOAD))
    assert result.returncode == 0, result.stderr
    wait_for(lambda: replicas(lab) == 3, 30, "the consumer Deployment scaled to maxReplicas 3")
    events = wait_for(lambda: scaled_events(lab), 15, "a Scaled event")
    assert "scale up" in events[0]
    wait_for(lambda: autoscale_status(lab).get("replicas") == 3, 15, "status.autoscale.replicas 3")
    status = autoscale_status(lab)
    assert (status["metric"], status["target"]) == ("queue_depth", 10)
    assert status["lastScaleTime"]

    # The load goes away: nothing produced, nothing waiting. Down one pod per cooldown (4 s), never below min.
    quiet = {**OVERLOAD, "producer": {**OVERLOAD["producer"], "productionRate": 0}}
    assert lab.kubectl_apply(bpc("lab", quiet)).returncode == 0
    producer = lab.pod("producer").service
    assert producer is not None
    producer.admin("/admin/clear-queue", {})
    wait_for(lambda: replicas(lab) == 1, 60, "scaled back down to minReplicas 1", interval=0.5)
    downs = wait_for(
        lambda: (
            [e for e in scaled_events(lab) if "scale down" in e][1:]
            and [e for e in scaled_events(lab) if "scale down" in e]
        ),
        15,
        "both Scaled events of the way down",
    )
    assert [event.split(":")[0] for event in downs] == [
        f"{CONSUMER_DEPLOYMENT} 3 -> 2",
        f"{CONSUMER_DEPLOYMENT} 2 -> 1",
    ]
    wait_for(lambda: autoscale_status(lab).get("replicas") == 1, 15, "status.autoscale.replicas 1")


def test_autoscale_with_min_above_max_is_refused_by_kubectl(operator_lab: OperatorLab) -> None:
    spec = {"consumer": {"autoscale": {"minReplicas": 4, "maxReplicas": 2}}}
    result = operator_lab.kubectl_apply(bpc("lab", spec))
    assert result.returncode != 0
    assert "minReplicas must be <= maxReplicas" in result.stderr
