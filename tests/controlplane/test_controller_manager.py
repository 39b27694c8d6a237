"""With kube-controller-manager: Deployments get ReplicaSets and Pods, garbage collection and namespace deletion work.

There is no kubelet, so Pods are created and scheduled nowhere: they stay Pending.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar, cast

import pytest
from kubernetes import client

from tests.controlplane.cluster import ControlPlane
from tests.waiting import poll

pytestmark = pytest.mark.controlplane

T = TypeVar("T")


def eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 30, what: str = "") -> T:
    polled = poll(probe, timeout=timeout, interval=0.2, until=done)
    if not polled.done:
        pytest.fail(f"not within {timeout} s: {what}; last seen {polled.last!r}")
    return cast(T, polled.last)


def deployment(name: str, replicas: int) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                # Never pulled: no kubelet runs here.
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="example.invalid/app:1")]),
            ),
        ),
    )


def pods_of(core: client.CoreV1Api, namespace: str, app: str) -> list[client.V1Pod]:
    return list(core.list_namespaced_pod(namespace, label_selector=f"app={app}").items)


def test_deployment_gets_its_pods_created(
    controller_manager: ControlPlane, api_client: client.ApiClient, namespace: str
) -> None:
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", replicas=2))

    pods = eventually(lambda: pods_of(core, namespace, "web"), lambda p: len(p) == 2, what="2 pods of web")
    for pod in pods:
        assert pod.metadata is not None
        assert pod.metadata.owner_references
        assert pod.status is not None
        assert pod.spec is not None
        owner = pod.metadata.owner_references[0]
        assert (owner.kind, owner.controller) == ("ReplicaSet", True)
        assert owner.name.startswith("web-")
        assert pod.status.phase == "Pending"  # no kubelet, no scheduler
        assert pod.spec.service_account_name == "default"


def test_garbage_collector_deletes_what_a_deleted_deployment_owned(
    controller_manager: ControlPlane, api_client: client.ApiClient, namespace: str
) -> None:
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("gc", replicas=1))
    eventually(lambda: pods_of(core, namespace, "gc"), lambda p: len(p) == 1, what="1 pod of gc")

    apps.delete_namespaced_deployment("gc", namespace, propagation_policy="Background")
    eventually(lambda: pods_of(core, namespace, "gc"), lambda p: p == [], what="pods of gc collected")
    eventually(
        lambda: apps.list_namespaced_replica_set(namespace).items, lambda r: r == [], what="ReplicaSets collected"
    )


def test_namespace_deletion_completes(controller_manager: ControlPlane, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    name = f"t-ns-deletion-{time.monotonic_ns() % 100000}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    core.create_namespaced_config_map(name, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={}))
    core.delete_namespace(name)

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except client.ApiException as err:
            return bool(err.status == 404)
        return False

    eventually(gone, bool, what=f"namespace {name} deleted")


def test_service_account_token_controller_publishes_root_ca(
    controller_manager: ControlPlane, api_client: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    eventually(
        lambda: [sa.metadata.name for sa in core.list_namespaced_service_account(namespace).items if sa.metadata],
        lambda names: "default" in names, what="ServiceAccount default",
    )  # fmt: skip
    ca = eventually(
        lambda: core.list_namespaced_config_map(namespace, field_selector="metadata.name=kube-root-ca.crt").items,
        lambda items: len(items) == 1, what="ConfigMap kube-root-ca.crt",
    )  # fmt: skip
    assert controller_manager.pki is not None
    assert ca[0].data is not None
    assert ca[0].data["ca.crt"].strip() == controller_manager.pki.ca_cert.read_text().strip()
