"""kube-prometheus-stack as `make up` installs it on kind: the pinned chart from a Helm repository (the helm-mirror
stand-in, served on loopback, so the same chart reference as tools/kind/up.sh resolves) with
deploy/kube-prometheus-stack.yaml, rendered and checked against what `make up` relies on: the Prometheus selects
the lab's ServiceMonitors and PrometheusRule, Grafana's sidecar finds the lab's dashboard and opens it as the home
dashboard, the NodePorts are the ones kind-config.yaml maps, and no target is one kind leaves DOWN."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import yaml

from tests.chart.helm import CHART, REPO, Helm, Manifest, containers, env_of, find, one, render_stack
from tests.helm_mirror import serving_helm_mirror
from tools.bundle.images import images

VALUES = REPO / "deploy" / "kube-prometheus-stack.yaml"
NODE_VALUES = REPO / "tools" / "node" / "values-kube-prometheus-stack.yaml"
RELEASE = "kube-prometheus-stack"  # tools/kind/common.sh KPS_RELEASE
NAMESPACE = "monitoring"
# Components kind binds to 127.0.0.1 only: a ServiceMonitor for one of them is a target that is always DOWN.
DOWN_ON_KIND = ("etcd", "controller-manager", "scheduler", "kube-proxy")


@pytest.fixture(scope="module")
def mirror_url() -> Iterator[str]:
    with serving_helm_mirror() as url:
        yield url


@pytest.fixture(scope="module")
def stack(helm: Helm, mirror_url: str) -> list[Manifest]:
    return render_stack(helm, mirror_url, VALUES)


@pytest.fixture(scope="module")
def node_stack(helm: Helm, mirror_url: str) -> list[Manifest]:
    """The stack as `make up CLUSTER=node` installs it: the kind values, then the node profile's."""
    return render_stack(helm, mirror_url, VALUES, NODE_VALUES)


def node_images() -> dict[str, str]:
    """image reference -> the built binary it packs, as tools/node/common.sh's monitoring_images lists them."""
    listed = subprocess.run(
        ["bash", "-c", '. "$1/common.sh" && monitoring_images', "bash", str(REPO / "tools" / "node")],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return {line.split()[2]: line.split()[0] for line in listed.splitlines()}


def test_the_node_profile_builds_exactly_the_images_its_stack_runs(node_stack: list[Manifest]) -> None:
    """The node pulls nothing: every image the stack's workloads, its Prometheus and the config reloader the operator
    adds refer to is one tools/node/images.sh packs, under the same name."""
    used = set(images(node_stack))
    assert used == set(node_images()), (sorted(used), node_images())


def test_the_node_profile_runs_no_grafana_and_no_webhook_certificate_jobs(node_stack: list[Manifest]) -> None:
    names = [m["metadata"]["name"] for m in node_stack]
    assert not [name for name in names if "grafana" in name], names
    assert not find(node_stack, "Job"), [m["metadata"]["name"] for m in find(node_stack, "Job")]
    assert not find(node_stack, "ValidatingWebhookConfiguration")


@pytest.fixture(scope="module")
def lab(helm: Helm) -> list[Manifest]:
    """The lab's chart with its monitoring integrations on, as tools/kind/up.sh installs it."""
    return helm.template(
        sets={"serviceMonitor.enabled": "true", "prometheusRule.enabled": "true", "dashboards.enabled": "true"},
        namespace="backpressure-lab",
        release="backpressure-lab",
        extra=[
            "--api-versions=monitoring.coreos.com/v1/ServiceMonitor",
            "--api-versions=monitoring.coreos.com/v1/PrometheusRule",
        ],
    )


def selects(selector: dict[str, object] | None, labels: dict[str, str]) -> bool:
    """A label selector's verdict on `labels` (matchLabels only: the stack's selectors use nothing else)."""
    if selector is None:
        return False
    assert set(selector) <= {"matchLabels"}, selector
    wanted = selector.get("matchLabels") or {}
    assert isinstance(wanted, dict)
    return all(labels.get(key) == value for key, value in wanted.items())


def test_the_prometheus_selects_the_labs_monitors_and_rules_in_any_namespace(
    stack: list[Manifest], lab: list[Manifest]
) -> None:
    (prometheus,) = find(stack, "Prometheus")
    spec = prometheus["spec"]
    for kind, selector, namespaces in (
        ("ServiceMonitor", "serviceMonitorSelector", "serviceMonitorNamespaceSelector"),
        ("PrometheusRule", "ruleSelector", "ruleNamespaceSelector"),
    ):
        assert spec.get(namespaces) == {}, f"{namespaces}: {spec.get(namespaces)} (the lab is in its own namespace)"
        for found in find(lab, kind):
            labels = found["metadata"].get("labels") or {}
            assert selects(spec.get(selector), labels), f"{selector} {spec.get(selector)} misses {kind} {labels}"
    # Whatever the lab's release is called and whether or not it keeps the `release` label.
    assert spec["serviceMonitorSelector"] == {}
    assert spec["ruleSelector"] == {}


def test_grafanas_sidecar_finds_the_labs_dashboard_and_opens_it_as_home(
    stack: list[Manifest], lab: list[Manifest]
) -> None:
    grafana = one(stack, "Deployment", f"{RELEASE}-grafana")
    sidecar = env_of(next(c for c in containers(grafana) if c["name"] == "grafana-sc-dashboard"))
    (dashboards,) = (m for m in find(lab, "ConfigMap") if m["metadata"]["name"].endswith("-dashboards"))
    labels = dashboards["metadata"]["labels"]
    assert labels.get(sidecar["LABEL"]) == sidecar["LABEL_VALUE"], (sidecar, labels)
    assert sidecar.get("NAMESPACE") == "ALL"  # the lab's ConfigMap is in the lab's namespace
    assert "k8s-sidecar-target-directory" not in (dashboards["metadata"].get("annotations") or {})
    (filename,) = dashboards["data"]
    grafana_ini = one(stack, "ConfigMap", f"{RELEASE}-grafana")["data"]["grafana.ini"]
    assert f"default_home_dashboard_path = {sidecar['FOLDER']}/{filename}" in grafana_ini, grafana_ini


def test_the_node_ports_are_the_ones_kind_config_maps_and_none_is_drawn_at_random(stack: list[Manifest]) -> None:
    kind_config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    mapped = {m["containerPort"]: m["hostPort"] for node in kind_config["nodes"] for m in node["extraPortMappings"]}
    node_ports = {
        (service["metadata"]["name"], port["name"]): port.get("nodePort")
        for service in find(stack, "Service")
        if service["spec"].get("type") == "NodePort"
        for port in service["spec"]["ports"]
    }
    assert all(node_ports.values()), f"a NodePort left for Kubernetes to draw: {node_ports}"
    assert mapped[node_ports[("kps-prometheus", "http-web")]] == 9090
    assert mapped[node_ports[(f"{RELEASE}-grafana", "http-web")]] == 3001
    assert not set(node_ports.values()) & {30800, 30801, 31686}, "a node port the lab's chart names"


def test_no_target_is_one_kind_leaves_down(stack: list[Manifest]) -> None:
    monitors = [m["metadata"]["name"] for m in find(stack, "ServiceMonitor")]
    assert monitors, "the stack renders no ServiceMonitor at all"
    assert not [name for name in monitors if any(part in name for part in DOWN_ON_KIND)], monitors
    assert any("kube-state-metrics" in name for name in monitors)  # the OOM kill in Grafana comes from it
    assert any(name.endswith("-kubelet") for name in monitors)  # the containers' memory against the limit


def test_grafana_gets_no_datasource_for_the_alertmanager_that_is_off(stack: list[Manifest]) -> None:
    assert not find(stack, "Alertmanager")
    datasources = one(stack, "ConfigMap", "kps-grafana-datasource")["data"]["datasource.yaml"]
    kinds = [source["type"] for source in yaml.safe_load(datasources)["datasources"]]
    assert "alertmanager" not in kinds
    assert {"prometheus", "jaeger"} <= set(kinds)


def test_the_values_file_and_the_chart_reference_are_what_make_up_uses() -> None:
    install = (REPO / "tools" / "lib" / "kube-prometheus-stack.sh").read_text()
    assert "prometheus-community/kube-prometheus-stack" in install
    assert 'KPS_REPO_URL="${BPLAB_KPS_REPO:-https://prometheus-community.github.io/helm-charts}"' in install
    assert 'KPS_VALUES="${root:?}/deploy/kube-prometheus-stack.yaml"' in install
    assert 'values=(--values "$KPS_VALUES")' in install
    assert "install_kube_prometheus_stack 12\n" in (REPO / "tools" / "kind" / "up.sh").read_text()
    assert (
        'install_kube_prometheus_stack 8 "$here/values-kube-prometheus-stack.yaml"'
        in (REPO / "tools" / "node" / "up.sh").read_text()
    )
    assert CHART.is_dir()
