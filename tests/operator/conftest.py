"""Fixtures for the operator tier: the shared real control plane, the CRD from crds/, the chart's RBAC, and a
release made of loopback pod stand-ins with the operator running as its ServiceAccount."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.controlplane.cluster import ControlPlane
from tests.operator.harness import (
    ADMIN_TOKEN,
    CRDS,
    OPERATOR_SA,
    LoopbackPodStandIn,
    OperatorLab,
    OperatorProcess,
    install_operator_rbac,
    wait_for,
)
from tests.ports import free_port
from tests.tiers import unavailable
from tests.tool_cache import cached_helm
from tests.waiting import poll

CRD_NAME = "backpressureconfigs.lab.backpressure.dev"
QUIET_DRIFT_SECONDS = 60.0


@pytest.fixture(scope="session", autouse=True)
def helm_built() -> None:
    """The tier renders the chart's templates with the pinned helm (RBAC, the default config, the Deployment)."""
    if not cached_helm().exists():
        unavailable(f"helm not built at {cached_helm()}: run `make tools` (tools/build-tools.sh helm)")


@pytest.fixture(scope="session")
def crd_installed(control_plane: ControlPlane, api_client: client.ApiClient) -> str:
    """The CRD as the chart ships it, applied the way docs/operator.md tells to upgrade it."""
    control_plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    ext = client.ApiextensionsV1Api(api_client)

    def established() -> bool:
        status = ext.read_custom_resource_definition(CRD_NAME).status
        conditions = (status.conditions if status else None) or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    if not poll(established, timeout=30, interval=0.1).done:
        pytest.fail(f"CRD {CRD_NAME} not Established")
    return CRD_NAME


def _strip_rules(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_rules(v) for k, v in schema.items() if k != "x-kubernetes-validations"}
    if isinstance(schema, list):
        return [_strip_rules(item) for item in schema]
    return schema


def _refuses_one_sided_pair(plane: ControlPlane, namespace: str) -> bool:
    probe = {"apiVersion": "lab.backpressure.dev/v1alpha1", "kind": "BackpressureConfig",
             "metadata": {"name": "probe"}, "spec": {"producer": {"lowWatermark": 90}}}  # fmt: skip
    result = subprocess.run(
        [str(plane.binaries.kubectl), f"--kubeconfig={plane.admin_kubeconfig}", "-n", namespace, "create",
         "--dry-run=server", "-f", "-"],
        input=json.dumps(probe), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return result.returncode != 0


@pytest.fixture
def older_crd(control_plane: ControlPlane, crd_installed: str, namespace: str, tmp_path: Path) -> Iterator[None]:
    """The CRD without its cross-field CEL rules for one test, as a cluster that never upgraded crds/ may still
    have: a spec the operator must call Invalid then reaches it. The current CRD is back afterwards."""
    document = yaml.safe_load((CRDS / "backpressureconfigs.yaml").read_text())
    older = tmp_path / "older-crd.yaml"
    older.write_text(yaml.safe_dump(_strip_rules(document)))
    # replace (a PUT of the whole object), not apply: other field managers (the chart tier's) co-own the rules.
    control_plane.kubectl("replace", "-f", str(older))
    try:
        wait_for(lambda: not _refuses_one_sided_pair(control_plane, namespace), 30, "the older CRD in force")
        yield
    finally:
        control_plane.kubectl("replace", "-f", str(CRDS / "backpressureconfigs.yaml"))
        wait_for(lambda: _refuses_one_sided_pair(control_plane, namespace), 30, "the current CRD back in force")


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


@contextlib.contextmanager
def running_release(
    plane: ControlPlane, api: client.ApiClient, namespace: str, log_dir: Path, drift_check_seconds: float
) -> Iterator[OperatorLab]:
    lab = start_release(plane, api, namespace, log_dir, drift_check_seconds)
    try:
        lab.operator.start()
        yield lab
    finally:
        lab.operator.stop()
        for pod in lab.pods:
            pod.stop_process()
        # pytest shows teardown output only for a failed test: the operator's log then comes with it.
        print(f"--- operator log ({namespace}) ---\n{lab.operator.log()[-8000:]}")


@pytest.fixture
def operator_lab(
    controller_manager: ControlPlane,
    api_client: client.ApiClient,
    crd_installed: str,
    namespace: str,
    tmp_path: Path,
) -> Iterator[OperatorLab]:
    with running_release(controller_manager, api_client, namespace, tmp_path, 1.0) as lab:
        yield lab


@pytest.fixture
def chart_drift_lab(
    controller_manager: ControlPlane,
    api_client: client.ApiClient,
    crd_installed: str,
    namespace: str,
    tmp_path: Path,
) -> Iterator[OperatorLab]:
    """The drift check every 5 s, the chart's default (operator.driftCheckSeconds)."""
    with running_release(controller_manager, api_client, namespace, tmp_path, 5.0) as lab:
        yield lab


@pytest.fixture
def quiet_drift_lab(
    controller_manager: ControlPlane,
    api_client: client.ApiClient,
    crd_installed: str,
    namespace: str,
    tmp_path: Path,
) -> Iterator[OperatorLab]:
    """The drift check every 60 s (after its first round at start): within a test, whatever reaches a pod got there
    by the change handlers or the pod watch, never by a drift check that would hide their faults."""
    with running_release(controller_manager, api_client, namespace, tmp_path, QUIET_DRIFT_SECONDS) as lab:
        yield lab
