"""Fixtures for the controlplane tier: a real etcd + kube-apiserver (+ kube-controller-manager) on loopback.

- `control_plane` (session): etcd + kube-apiserver, RBAC on, admin kubeconfig at `control_plane.admin_kubeconfig`.
- `controller_manager` (session, on demand): kube-controller-manager joins the same control plane.
- `api_client` (session): a kubernetes.client.ApiClient acting as the admin.
- `namespace` (function): a fresh namespace per test, deleted afterwards.
- `service_account_kubeconfig` (function): factory `(namespace, name) -> Path` of a kubeconfig that acts as exactly
  that ServiceAccount (TokenRequest), so a test sees that account's RBAC and nothing more.

Component logs are files under the session's temp dir; a failing test shows their tails in its report.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.controlplane.cluster import (
    ControlPlane,
    ControlPlaneError,
    ToolsMissingError,
    api_client_for,
    find_binaries,
    running_processes,
)
from tests.tiers import unavailable

LOG_TAIL_LINES = 40
_state: dict[str, ControlPlane] = {}


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    try:
        binaries = find_binaries()
    except ToolsMissingError as missing:
        unavailable(f"{missing}: run `make tools` (tools/build-tools.sh etcd kubernetes)")
    plane = ControlPlane(workdir=tmp_path_factory.mktemp("controlplane"), binaries=binaries)
    _state["plane"] = plane
    try:
        plane.start()
    except ControlPlaneError as err:
        plane.stop()
        pytest.fail(f"control plane did not start: {err}", pytrace=False)
    try:
        yield plane
    finally:
        plane.stop()
        _state.pop("plane", None)


@pytest.fixture(scope="session")
def controller_manager(control_plane: ControlPlane) -> ControlPlane:
    """Adds kube-controller-manager (garbage collector, namespaces, ReplicaSets, ServiceAccounts and tokens)."""
    try:
        control_plane.start_controller_manager()
    except ControlPlaneError as err:
        pytest.fail(f"kube-controller-manager did not start: {err}", pytrace=False)
    return control_plane


@pytest.fixture(scope="session")
def api_client(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    with api_client_for(control_plane.admin_kubeconfig) as api:
        yield api


def _namespace_name(nodeid: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", nodeid.rsplit("::", 1)[-1].lower()).strip("-")
    return f"t-{base[:40].strip('-')}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def namespace(api_client: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test; deletion is requested afterwards (it completes only with the controller
    manager running: without it nothing empties the namespace)."""
    core = client.CoreV1Api(api_client)
    name = _namespace_name(request.node.nodeid)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"bplab-test": "1"})))
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except client.ApiException as err:
            if err.status != 404:
                raise


@pytest.fixture
def service_account_kubeconfig(control_plane: ControlPlane) -> Callable[[str, str], Path]:
    """Factory: kubeconfig path for ServiceAccount `name` in `namespace` (created if absent)."""

    def make(namespace: str, name: str) -> Path:
        with api_client_for(control_plane.admin_kubeconfig) as api:
            core = client.CoreV1Api(api)
            try:
                core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
                    metadata=client.V1ObjectMeta(name=name)))  # fmt: skip
            except client.ApiException as err:
                if err.status != 409:
                    raise
        return control_plane.kubeconfig_for_service_account(namespace, name)

    return make


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a test of this tier fails, append the tail of every control plane log to its report."""
    report = yield
    plane = _state.get("plane")
    if report.failed and plane is not None and "control_plane" in getattr(item, "fixturenames", ()):
        for title, tail in plane.log_tails(LOG_TAIL_LINES):
            report.sections.append((f"{title}: last {LOG_TAIL_LINES} lines", tail))
        report.sections.append(("control plane logs", str(plane.logs_dir)))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Backstop: nothing this tier started outlives the session (fixtures normally stopped it already)."""
    for proc in running_processes():
        proc.stop(grace=5.0)
