"""Fixtures for the operator tier: the shared real control plane, the CRD from crds/, the chart's RBAC, and a
release made of loopback pod stand-ins with the operator running as its ServiceAccount."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.controlplane.cluster import ControlPlane
from tests.operator.harness import (
    ADMIN_TOKEN,
    CRDS,
    OPERATOR_SA,
    LoopbackPodStandIn,
    OperatorLab,
    OperatorProcess,
    helm_binary,
    install_operator_rbac,
)
from tests.services.lab import free_port
from tests.tiers import unavailable

CRD_NAME = "backpressureconfigs.lab.backpressure.dev"


@pytest.fixture(scope="session", autouse=True)
def helm_built() -> None:
    """The tier renders the chart's templates with the pinned helm (RBAC, the default config, the Deployment)."""
    if not helm_binary().exists():
        unavailable(f"helm not built at {helm_binary()}: run `make tools` (tools/build-tools.sh helm)")


@pytest.fixture(scope="session")
def crd_installed(control_plane: ControlPlane, api_client: client.ApiClient) -> str:
    """The CRD as the chart ships it, applied the way docs/operator.md tells to upgrade it."""
    control_plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    ext = client.ApiextensionsV1Api(api_client)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = ext.read_custom_resource_definition(CRD_NAME).status
        conditions = (status.conditions if status else None) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return CRD_NAME
        time.sleep(0.1)
    pytest.fail(f"CRD {CRD_NAME} not Established")


def start_release(
    plane: ControlPlane, api: client.ApiClient, ns: str, log_dir: Path, drift_check_seconds: float = 1.0
) -> OperatorLab:
    """Chart RBAC, a producer and a consumer stand-in (ready), and the operator as its ServiceAccount."""
    install_operator_rbac(plane, ns, log_dir)
    core = client.CoreV1Api(api)
    consumer = LoopbackPodStandIn(core, ns, "lab-consumer-0", "consumer", free_port(), log_dir,
                                  {"BPLAB_ADMIN_TOKEN": ADMIN_TOKEN})  # fmt: skip
    producer = LoopbackPodStandIn(core, ns, "lab-producer-0", "producer", free_port(), log_dir,
                                  {"BPLAB_ADMIN_TOKEN": ADMIN_TOKEN,
                                   "BPLAB_CONSUMER_URL": f"http://127.0.0.1:{consumer.port}"})  # fmt: skip
    kubeconfig = plane.kubeconfig_for_service_account(ns, OPERATOR_SA)
    operator = OperatorProcess(kubeconfig, ns, log_dir, drift_check_seconds=drift_check_seconds)
    lab = OperatorLab(plane, api, ns, operator, [producer, consumer])
    for pod in (consumer, producer):
        pod.create()
        pod.start_process()
        pod.set_status(ready=True)
    return lab


@pytest.fixture
def operator_lab(
    controller_manager: ControlPlane,
    api_client: client.ApiClient,
    crd_installed: str,
    namespace: str,
    tmp_path: Path,
) -> Iterator[OperatorLab]:
    lab = start_release(controller_manager, api_client, namespace, tmp_path)
    try:
        lab.operator.start()
        yield lab
    finally:
        lab.operator.stop()
        for pod in lab.pods:
            pod.stop_process()
        # pytest shows teardown output only for a failed test: the operator's log then comes with it.
        print(f"--- operator log ({namespace}) ---\n{lab.operator.log()[-8000:]}")
