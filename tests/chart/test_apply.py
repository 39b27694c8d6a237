"""The chart against a real kube-apiserver + kube-controller-manager: server-side apply, install, upgrade, uninstall.

Everything goes into a namespace that enforces Pod Security `restricted`. There is no kubelet and no scheduler, so
Pods stay Pending; what is proven is that the API server accepts every object as rendered (schemas of the built-in
kinds and of the monitoring.coreos.com CRDs, Pod Security admission) and that the ReplicaSet controller creates the
Pods without an admission error. Image names are never pulled.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml

from backpressure_lab.operator.kube import KubeWriter
from tests.chart.helm import CHART, REPO, Helm, find, is_hook, set_args
from tests.controlplane.cluster import ControlPlane, ControlPlaneError
from tests.waiting import poll

pytestmark = [pytest.mark.controlplane, pytest.mark.timeout(300)]

INTEGRATIONS = {"serviceMonitor.enabled": "true", "prometheusRule.enabled": "true", "dashboards.enabled": "true"}
# Never pulled (nothing runs the Pods); .invalid makes that plain to a reader of `kubectl get pods`.
IMAGES = {f"{c}.image.repository": "registry.invalid/backpressure-lab" for c in ("producer", "consumer", "operator")}
# NodePorts are cluster-wide: the server-side apply test takes its own, the install test keeps the shipped ones.
OTHER_NODE_PORTS = {"producer.service.nodePort": "30810", "consumer.service.nodePort": "30811",
                    "jaeger.service.uiNodePort": "31687"}  # fmt: skip
# NodePorts are cluster-wide and a namespace goes away only after its test: the other releases take none.
NO_NODE_PORTS = {f"{c}.service.type": "ClusterIP" for c in ("producer", "consumer", "jaeger")}
PODS_TIMEOUT = 60.0
MANAGER = "bplab-chart-tests"


def contains(stored: Any, rendered: Any) -> bool:
    """Whether every field and list item of `rendered` is in `stored` with the same value."""
    if isinstance(rendered, dict):
        return isinstance(stored, dict) and all(k in stored and contains(stored[k], v) for k, v in rendered.items())
    if isinstance(rendered, list):
        return isinstance(stored, list) and len(stored) == len(rendered) and all(map(contains, stored, rendered))
    return bool(stored == rendered)


def kubectl_json(plane: ControlPlane, *args: str) -> Any:
    return json.loads(plane.kubectl(*args, "-o", "json"))


def deployment_replicas(plane: ControlPlane, namespace: str, instance: str) -> dict[str, int]:
    """component -> desired replicas, for every Deployment of the release."""
    listed = kubectl_json(plane, "get", "deployments", "-n", namespace, "-l", f"app.kubernetes.io/instance={instance}")
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]: d["spec"]["replicas"] for d in listed["items"]}


def pods_by_owner_component(plane: ControlPlane, namespace: str, instance: str) -> dict[str, int]:
    """component -> Pods created by a ReplicaSet of the release (hook Pods have no owner and are not counted)."""
    listed = kubectl_json(plane, "get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={instance}")
    counts: dict[str, int] = {}
    for pod in listed["items"]:
        owners = pod["metadata"].get("ownerReferences") or []
        if any(owner["kind"] == "ReplicaSet" for owner in owners) and "deletionTimestamp" not in pod["metadata"]:
            component = pod["metadata"]["labels"]["app.kubernetes.io/component"]
            counts[component] = counts.get(component, 0) + 1
    return counts


def failed_creates(plane: ControlPlane, namespace: str) -> list[str]:
    events = kubectl_json(plane, "get", "events", "-n", namespace, "--field-selector", "reason=FailedCreate")
    return [f"{e['involvedObject']['name']}: {e['message']}" for e in events["items"]]


def wait_for_replica_set_pods(plane: ControlPlane, namespace: str, instance: str) -> dict[str, int]:
    """Every Deployment of the release has as many Pods as replicas; fails with the FailedCreate events if not."""
    wanted = deployment_replicas(plane, namespace, instance)
    assert wanted, "the release has no Deployments"
    pods = poll(
        lambda: pods_by_owner_component(plane, namespace, instance),
        timeout=PODS_TIMEOUT,
        interval=0.5,
        until=lambda found: found == wanted,
    )
    if not pods.done:
        pytest.fail(
            f"Pods {pods.last} != replicas {wanted} after {PODS_TIMEOUT:.0f} s;"
            f" FailedCreate events: {failed_creates(plane, namespace)}"
        )
    assert not failed_creates(plane, namespace)
    return wanted


def wait_until_gone(plane: ControlPlane, namespace: str, instance: str, timeout: float = 60.0) -> None:
    kinds = "deployments,replicasets,pods,services,secrets,configmaps,servicemonitors,prometheusrules"
    left = poll(
        lambda: plane.kubectl(
            "get", kinds, "-n", namespace, "-l", f"app.kubernetes.io/instance={instance}", "-o", "name"
        ).strip(),
        timeout=timeout,
        interval=0.5,
        until=lambda names: not names,
    )
    if not left.done:
        pytest.fail(f"left after uninstall ({timeout:.0f} s): {left.last}")


def admin_token(plane: ControlPlane, namespace: str, secret: str) -> str:
    data = kubectl_json(plane, "get", "secret", secret, "-n", namespace)["data"]
    return base64.b64decode(data["token"]).decode()


def helm_status(helm: Helm, namespace: str, release: str) -> dict[str, Any]:
    status: dict[str, Any] = json.loads(helm.run("status", release, "-n", namespace, "-o", "json"))
    return status


def test_restricted_namespace_refuses_an_unrestricted_pod(
    controller_manager: ControlPlane, restricted_namespace: str, tmp_path: Path
) -> None:
    """The control that makes the other tests mean something: Pod Security admission does enforce here."""
    pod = tmp_path / "pod.json"
    pod.write_text(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
                               "spec": {"containers": [{"name": "c", "image": "registry.invalid/x"}]}}))  # fmt: skip
    with pytest.raises(ControlPlaneError, match=r'violates PodSecurity "restricted:latest"'):
        controller_manager.kubectl("create", "--dry-run=server", "-n", restricted_namespace, "-f", str(pod))


def test_server_side_apply_of_every_rendered_object(
    controller_manager: ControlPlane, cluster_crds: list[str], helm: Helm, restricted_namespace: str, tmp_path: Path
) -> None:
    plane, namespace = controller_manager, restricted_namespace
    assert {"servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"} <= set(cluster_crds)
    served = [
        "--api-versions=monitoring.coreos.com/v1/ServiceMonitor",
        "--api-versions=monitoring.coreos.com/v1/PrometheusRule",
    ]
    rendered = helm.template(
        sets={**INTEGRATIONS, **IMAGES, **OTHER_NODE_PORTS}, namespace=namespace, release="ssa", extra=served
    )
    manifest_file = tmp_path / "rendered.yaml"
    manifest_file.write_text(yaml.safe_dump_all(rendered))

    applied = plane.kubectl("apply", "--server-side", f"--field-manager={MANAGER}", "-n", namespace,
                            "-f", str(manifest_file), "-o", "name").split()  # fmt: skip
    assert len(applied) == len(rendered)
    stored = {(o["kind"], o["metadata"]["name"]): o for o in
              kubectl_json(plane, "get", "-n", namespace, "-f", str(manifest_file))["items"]}  # fmt: skip
    assert set(stored) == {(m["kind"], m["metadata"]["name"]) for m in rendered}

    # Custom resources keep every field the chart sets: a misspelt field would be pruned by the CRD's schema
    # (the server may add defaults, so what was rendered must be contained in what is stored).
    for kind in ("ServiceMonitor", "PrometheusRule", "BackpressureConfig"):
        for manifest in find(rendered, kind):
            assert contains(stored[(kind, manifest["metadata"]["name"])]["spec"], manifest["spec"]), kind
    assert find(rendered, "ServiceMonitor")
    assert find(rendered, "PrometheusRule")

    pods = wait_for_replica_set_pods(plane, namespace, "ssa")
    assert {"producer", "consumer", "jaeger", "operator"} <= set(pods)
    hook_pods = {m["metadata"]["name"] for m in rendered if m["kind"] == "Pod"}
    created = {p["metadata"]["name"] for p in kubectl_json(plane, "get", "pods", "-n", namespace)["items"]}
    assert hook_pods <= created

    # A second apply of the same render changes nothing it owns (no conflicts, same generations).
    generations = {key: obj["metadata"].get("generation") for key, obj in stored.items()}
    plane.kubectl("apply", "--server-side", f"--field-manager={MANAGER}", "-n", namespace, "-f", str(manifest_file))
    again = {(o["kind"], o["metadata"]["name"]): o["metadata"].get("generation") for o in
             kubectl_json(plane, "get", "-n", namespace, "-f", str(manifest_file))["items"]}  # fmt: skip
    assert again == generations


def test_install_upgrade_keeps_the_admin_token_and_uninstall_removes_everything(
    controller_manager: ControlPlane, cluster_crds: list[str], cluster_helm: Helm, restricted_namespace: str
) -> None:
    plane, helm, namespace = controller_manager, cluster_helm, restricted_namespace
    secret = "lab-backpressure-lab-admin"
    values = [*set_args(INTEGRATIONS), *set_args(IMAGES)]

    # hookOnly: without a kubelet nothing ever becomes Ready, so helm must not wait for the workloads.
    notes = helm.run("install", "lab", str(CHART), "-n", namespace, "--wait=hookOnly", "--timeout=60s", *values)
    assert f"helm test lab -n {namespace}" in notes
    assert helm_status(helm, namespace, "lab")["info"]["status"] == "deployed"
    token = admin_token(plane, namespace, secret)
    assert len(token) == 40
    assert wait_for_replica_set_pods(plane, namespace, "lab")["producer"] == 1
    monitors = plane.kubectl("get", "servicemonitors,prometheusrules", "-n", namespace, "-o", "name").split()
    assert len(monitors) == 3, monitors

    helm.run("upgrade", "lab", str(CHART), "-n", namespace, "--wait=hookOnly", "--timeout=60s", "--reuse-values",
             "--set=producer.replicas=2")  # fmt: skip
    status = helm_status(helm, namespace, "lab")
    assert (status["version"], status["info"]["status"]) == (2, "deployed")
    assert admin_token(plane, namespace, secret) == token
    assert wait_for_replica_set_pods(plane, namespace, "lab")["producer"] == 2

    # Values reset to the chart's defaults: the token is looked up from the cluster, not from the values.
    helm.run("upgrade", "lab", str(CHART), "-n", namespace, "--wait=hookOnly", "--timeout=60s", "--reset-values",
             *values)  # fmt: skip
    assert helm_status(helm, namespace, "lab")["version"] == 3
    assert admin_token(plane, namespace, secret) == token
    assert wait_for_replica_set_pods(plane, namespace, "lab")["producer"] == 1

    helm.run("uninstall", "lab", "-n", namespace, "--wait", "--timeout=60s")
    assert json.loads(helm.run("list", "-n", namespace, "-o", "json")) == []
    # The garbage collector (kube-controller-manager) takes the ReplicaSets and Pods after their Deployments.
    wait_until_gone(plane, namespace, "lab")


def can_i(plane: ControlPlane, user: str, namespace: str, verb: str, resource: str, *extra: str) -> bool:
    """`kubectl auth can-i` as `user` (the admin impersonates it): the API server's own RBAC verdict."""
    result = subprocess.run(
        [str(plane.binaries.kubectl), f"--kubeconfig={plane.admin_kubeconfig}", "auth", "can-i", verb, resource,
         f"--as={user}", "-n", namespace, *extra],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    answer = result.stdout.strip()
    assert answer in {"yes", "no"}, f"kubectl auth can-i: {result.stdout} {result.stderr}"
    return answer == "yes"


# What kopf needs for one namespace, standalone and without cluster scanning (kopf's own RBAC docs), and what the
# operator's handlers add: the settings ConfigMap and a read-only view of the pods.
KOPF_AND_OPERATOR_NEEDS = [
    ("list", "backpressureconfigs.lab.backpressure.dev"),
    ("watch", "backpressureconfigs.lab.backpressure.dev"),
    ("patch", "backpressureconfigs.lab.backpressure.dev"),
    ("patch", "backpressureconfigs.lab.backpressure.dev", "--subresource=status"),
    ("create", "events"),
    ("create", "events.events.k8s.io"),
    ("list", "pods"),
    ("watch", "pods"),
    ("create", "configmaps"),
]
NOT_NEEDED = [
    ("get", "secrets"),
    ("list", "secrets"),
    ("create", "pods"),
    ("patch", "pods"),
    ("delete", "pods"),
    ("delete", "backpressureconfigs.lab.backpressure.dev"),
    ("list", "configmaps"),
    ("create", "roles.rbac.authorization.k8s.io"),
]


def test_operator_role_allows_what_kopf_needs_and_nothing_more(
    controller_manager: ControlPlane, cluster_crds: list[str], helm: Helm, restricted_namespace: str, tmp_path: Path
) -> None:
    plane, namespace = controller_manager, restricted_namespace
    rendered = helm.template(namespace=namespace, release="rbac")
    rbac = [m for m in rendered if m["kind"] in {"ServiceAccount", "Role", "RoleBinding"} and not is_hook(m)]
    manifest_file = tmp_path / "rbac.yaml"
    manifest_file.write_text(yaml.safe_dump_all(rbac))
    plane.kubectl("apply", "--server-side", f"--field-manager={MANAGER}", "-n", namespace, "-f", str(manifest_file))
    (account,) = [m["metadata"]["name"] for m in rbac if m["kind"] == "ServiceAccount"]
    user = f"system:serviceaccount:{namespace}:{account}"
    settings = "configmaps/rbac-backpressure-lab-settings"

    denied = [need for need in KOPF_AND_OPERATOR_NEEDS if not can_i(plane, user, namespace, *need)]
    denied += [(verb, settings) for verb in ("get", "patch") if not can_i(plane, user, namespace, verb, settings)]
    assert not denied, f"the operator's Role does not allow {denied}"

    allowed = [extra for extra in NOT_NEEDED if can_i(plane, user, namespace, *extra)]
    # Only its own ConfigMap, only its namespace, nothing cluster-wide (no CRD or namespace scanning).
    elsewhere = [
        ("patch", "configmaps/another", namespace),
        ("list", "pods", "default"),
        ("list", "backpressureconfigs.lab.backpressure.dev", "default"),
        ("list", "customresourcedefinitions.apiextensions.k8s.io", namespace),
        ("list", "namespaces", namespace),
    ]
    allowed += [(verb, what) for verb, what, where in elsewhere if can_i(plane, user, where, verb, what)]
    assert not allowed, f"the operator's Role allows more than it needs: {allowed}"


def operator_writer(plane: ControlPlane, namespace: str, release: str) -> KubeWriter:
    """The operator's own API client, logged in as the chart's operator ServiceAccount (its Role, nothing more)."""
    assert plane.pki is not None
    token = plane.request_token(namespace, f"{release}-backpressure-lab-operator")
    info = kopf.ConnectionInfo(server=plane.server, ca_path=str(plane.pki.ca_cert), token=token)
    return KubeWriter(lambda: info, timeout_seconds=10)


def managers(plane: ControlPlane, namespace: str, kind: str, name: str) -> dict[tuple[str, str], str]:
    """(manager, subresource) -> the fields it owns, as JSON text, from managedFields."""
    body = kubectl_json(plane, "get", kind, name, "-n", namespace, "--show-managed-fields")
    return {
        (entry["manager"], entry.get("subresource", "")): json.dumps(entry.get("fieldsV1", {}))
        for entry in body["metadata"]["managedFields"]
    }


def test_helm_upgrade_keeps_what_the_operator_owns_after_autoscale_was_turned_on_with_kubectl(
    controller_manager: ControlPlane, cluster_crds: list[str], cluster_helm: Helm, restricted_namespace: str
) -> None:
    """Exercise 14 is applied with kubectl, not through the chart's values; a repairing `make up` (helm upgrade,
    server-side) must neither reset the replicas the operator set nor fail on who owns them or the status."""
    plane, helm, namespace = controller_manager, cluster_helm, restricted_namespace
    config, consumer = "backpressure-lab", "lab-backpressure-lab-consumer"
    values = set_args({**IMAGES, **NO_NODE_PORTS})
    helm.run("install", "lab", str(CHART), "-n", namespace, "--wait=hookOnly", "--timeout=60s", *values)
    autoscale = {"spec": {"consumer": {"autoscale": {"minReplicas": 1, "maxReplicas": 4}}}}
    plane.kubectl("patch", "bpc", config, "-n", namespace, "--type=merge", "-p", json.dumps(autoscale))

    async def operate() -> None:
        writer = operator_writer(plane, namespace, "lab")
        try:
            await writer.scale_consumers(namespace, consumer, 3)
            meta = kubectl_json(plane, "get", "bpc", config, "-n", namespace)["metadata"]
            fields = {"observedGeneration": 2, "oomKills": 0}
            await writer.patch_status(namespace, config, meta["uid"], meta["resourceVersion"], fields)
        finally:
            await writer.close()

    asyncio.run(operate())
    helm.run("upgrade", "lab", str(CHART), "-n", namespace, "--wait=hookOnly", "--timeout=60s", *values)

    assert deployment_replicas(plane, namespace, "lab")["consumer"] == 3, "helm upgrade reset the operator's replicas"
    status = kubectl_json(plane, "get", "bpc", config, "-n", namespace)["status"]
    assert status == {"observedGeneration": 2, "oomKills": 0}
    deployment = managers(plane, namespace, "deployment", consumer)
    assert '"f:replicas"' in deployment[("backpressure-lab-operator", "scale")]
    assert '"f:replicas"' not in deployment[("helm", "")]
    assert '"f:oomKills"' in managers(plane, namespace, "bpc", config)[("backpressure-lab-operator", "status")]


def test_the_helm_test_fails_while_a_pod_runs_an_older_generation(
    controller_manager: ControlPlane, cluster_crds: list[str], helm: Helm, restricted_namespace: str, tmp_path: Path
) -> None:
    """The helm test pod's own command, as its own ServiceAccount, against a config whose status the test writes."""
    plane, namespace = controller_manager, restricted_namespace
    rendered = helm.template(namespace=namespace, release="lab")
    (pod,) = [m for m in rendered if m["kind"] == "Pod" and m["metadata"]["name"].endswith("-test-config")]
    needed = [m for m in rendered if m["kind"] in {"ServiceAccount", "Role", "RoleBinding"} and is_hook(m)]
    needed += find(rendered, "BackpressureConfig")
    manifest_file = tmp_path / "test-config.yaml"
    manifest_file.write_text(yaml.safe_dump_all(needed))
    plane.kubectl("apply", "--server-side", f"--field-manager={MANAGER}", "-n", namespace, "-f", str(manifest_file))
    (config,) = [m["metadata"]["name"] for m in find(rendered, "BackpressureConfig")]
    token_file = tmp_path / "token"
    token_file.write_text(plane.request_token(namespace, pod["spec"]["serviceAccountName"]))
    assert plane.pki is not None
    (container,) = pod["spec"]["containers"]
    command = [sys.executable if word == "python3" else word for word in container["command"]]
    command = [w for w in command if not w.startswith("--timeout=")] + ["--timeout=0", f"--server={plane.server}",
               f"--token-file={token_file}", f"--ca-file={plane.pki.ca_cert}"]  # fmt: skip

    def helm_test() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=REPO)

    def write_status(consumer_generation: int) -> None:
        ready = {"type": "Ready", "status": "True", "reason": "AllPodsCurrent", "message": "2 pods current",
                 "observedGeneration": 1, "lastTransitionTime": "2026-12-01T00:00:00Z"}  # fmt: skip
        pods = [{"name": "lab-producer-0", "component": "producer", "phase": "Current", "generation": 1},
                {"name": "lab-consumer-0", "component": "consumer", "phase": "Current",
                 "generation": consumer_generation}]  # fmt: skip
        status = {"status": {"observedGeneration": 1, "conditions": [ready], "pods": pods}}
        plane.kubectl("patch", "bpc", config, "-n", namespace, "--subresource=status", "--type=merge",
                      "-p", json.dumps(status))  # fmt: skip

    write_status(consumer_generation=0)
    stale = helm_test()
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "pod lab-consumer-0 is Current on generation 0, not Current on 1" in stale.stdout
    write_status(consumer_generation=1)
    current = helm_test()
    assert current.returncode == 0, current.stdout + current.stderr
    assert "every pod runs generation 1" in current.stdout


def readme_apply(plane: ControlPlane, namespace: str, example: str) -> subprocess.CompletedProcess[str]:
    """The README's command for an exercise, exactly (only the namespace and the kubeconfig differ)."""
    return subprocess.run(
        [str(plane.binaries.kubectl), f"--kubeconfig={plane.admin_kubeconfig}", "-n", namespace,
         "apply", "--server-side", "-f", f"examples/{example}"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip


def test_an_exercise_applies_quietly_to_any_release_before_and_after_a_repairing_upgrade(
    controller_manager: ControlPlane, cluster_crds: list[str], cluster_helm: Helm, restricted_namespace: str
) -> None:
    """A release not called backpressure-lab; the README's apply prints its one line and nothing on stderr, on a
    fresh install and after `make up`'s helm upgrade (the integrations flags included), and configures the chart's
    config rather than creating a second one."""
    plane, helm, namespace = controller_manager, cluster_helm, restricted_namespace
    values = set_args({**IMAGES, **NO_NODE_PORTS})
    notes = helm.run("install", "lab", str(CHART), "-n", namespace, "--wait=hookOnly", "--timeout=60s", *values)
    line = "backpressureconfig.lab.backpressure.dev/backpressure-lab serverside-applied\n"

    fresh = readme_apply(plane, namespace, "02-slow-consumer.yaml")
    assert (fresh.returncode, fresh.stdout, fresh.stderr) == (0, line, "")
    make_up = set_args(
        {"serviceMonitor.enabled": "true", "prometheusRule.enabled": "true", "dashboards.enabled": "true"}
    )
    helm.run("upgrade", "--install", "lab", str(CHART), "-n", namespace, "--wait=hookOnly", "--timeout=60s", *values,
             *make_up)  # fmt: skip
    again = readme_apply(plane, namespace, "04-bounded.yaml")
    assert (again.returncode, again.stdout, again.stderr) == (0, line, "")

    configs = kubectl_json(plane, "get", "bpc", "-n", namespace)["items"]
    assert [c["metadata"]["name"] for c in configs] == ["backpressure-lab"]
    wanted = yaml.safe_load((REPO / "examples" / "04-bounded.yaml").read_text())["spec"]
    assert configs[0]["spec"] == wanted

    # The control-plane tier serves monitoring.coreos.com/v1 (cluster_crds): wired without any flag, and said so.
    assert (
        "ServiceMonitors  wired: serviceMonitor.enabled=auto, and the cluster serves monitoring.coreos.com/v1" in notes
    )
    assert "PrometheusRule   wired" in notes
    assert f"kubectl -n {namespace} apply --server-side -f examples/02-slow-consumer.yaml" in notes
    monitors = plane.kubectl("get", "servicemonitors,prometheusrules", "-n", namespace, "-o", "name").split()
    assert len(monitors) == 3, monitors
