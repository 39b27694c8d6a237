"""RBAC is enforced: a ServiceAccount acts with exactly the permissions bound to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client

from tests.controlplane.cluster import api_client_for
from tests.waiting import poll

pytestmark = pytest.mark.controlplane


def list_pods_as(kubeconfig: Path, namespace: str) -> int:
    """HTTP status of `list pods` in `namespace` with `kubeconfig`'s identity (200 or the ApiException's)."""
    with api_client_for(kubeconfig) as api:
        try:
            client.CoreV1Api(api).list_namespaced_pod(namespace)
        except client.ApiException as err:
            return int(err.status)
    return 200


def test_service_account_without_binding_is_forbidden(
    namespace: str, service_account_kubeconfig: Callable[[str, str], Path]
) -> None:
    kubeconfig = service_account_kubeconfig(namespace, "nobody")
    assert list_pods_as(kubeconfig, namespace) == 403


def test_service_account_gets_what_its_role_binding_grants(
    api_client: client.ApiClient, namespace: str, service_account_kubeconfig: Callable[[str, str], Path]
) -> None:
    kubeconfig = service_account_kubeconfig(namespace, "reader")
    assert list_pods_as(kubeconfig, namespace) == 403

    rbac = client.RbacAuthorizationV1Api(api_client)
    rbac.create_namespaced_role(namespace, client.V1Role(
        metadata=client.V1ObjectMeta(name="pod-reader"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"])],
    ))  # fmt: skip
    rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="reader-reads-pods"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="pod-reader"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="reader", namespace=namespace)],
    ))  # fmt: skip

    # The RBAC authorizer reads bindings from an informer: allow it a moment to see the new ones.
    status = poll(lambda: list_pods_as(kubeconfig, namespace), timeout=10, interval=0.1, until=lambda s: s == 200).last
    assert status == 200
    # ... and nothing more: the same account still may not list pods elsewhere.
    assert list_pods_as(kubeconfig, "default") == 403
