"""Fixtures for the chart tests: the pinned helm, the monitoring CRDs, and a namespace that enforces `restricted`.

The control plane fixtures come from tests/controlplane/fixtures.py, registered once for the session by
tests/conftest.py, so the chart tests share the one etcd + kube-apiserver of the session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from tests.chart.helm import CHART, Helm, monitoring_crd_files
from tests.controlplane.cluster import ControlPlane
from tests.tiers import unavailable
from tests.tool_cache import require_helm

CRD_ESTABLISHED_TIMEOUT = "60s"


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(require_helm(), tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def monitoring_crds() -> list[Path]:
    """prometheus-operator's monitoring.coreos.com CRDs at PROMETHEUS_OPERATOR_VERSION (Go module, tool cache)."""
    try:
        files = monitoring_crd_files()
    except RuntimeError as err:
        unavailable(f"{err} (needs Go and the Go module proxy once: tools/monitoring-crds.sh)")
    assert {path.name for path in files} >= {
        "monitoring.coreos.com_servicemonitors.yaml",
        "monitoring.coreos.com_prometheusrules.yaml",
    }, files
    return files


@pytest.fixture(scope="session")
def cluster_crds(controller_manager: ControlPlane, monitoring_crds: list[Path]) -> list[str]:
    """Every CRD the chart's objects need, server-side applied and Established: the monitoring CRDs and the chart's
    own crds/ (which `helm install` would create; applied here so that a plain `kubectl apply` of the render works)."""
    plane = controller_manager
    files = [*monitoring_crds, *sorted((CHART / "crds").glob("*.yaml"))]
    args = ["apply", "--server-side", "--field-manager=bplab-chart-tests", "-o", "name"]
    for path in files:
        args += ["-f", str(path)]
    names = [line.removeprefix("customresourcedefinition.apiextensions.k8s.io/") for line in
             plane.kubectl(*args, timeout=120).split()]  # fmt: skip
    plane.kubectl(
        "wait", "--for=condition=Established", f"--timeout={CRD_ESTABLISHED_TIMEOUT}",
        *[f"crd/{name}" for name in names], timeout=90,
    )  # fmt: skip
    return names


@pytest.fixture
def cluster_helm(helm: Helm, controller_manager: ControlPlane) -> Helm:
    return helm.for_cluster(controller_manager.admin_kubeconfig)


@pytest.fixture
def restricted_namespace(namespace: str, api_client: client.ApiClient) -> str:
    """A fresh namespace whose Pod Security admission enforces (and warns and audits) `restricted`."""
    levels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}
    versions = {f"pod-security.kubernetes.io/{mode}-version": "latest" for mode in ("enforce", "warn", "audit")}
    client.CoreV1Api(api_client).patch_namespace(namespace, {"metadata": {"labels": {**levels, **versions}}})
    return namespace
