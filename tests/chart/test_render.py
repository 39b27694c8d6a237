"""`helm lint` and `helm template`: the defaults, every documented toggle, and the values schema.

Each toggle is checked as a difference against the default render (what it adds, what it removes), so these tests
hold whatever other templates (the operator's) the chart gains. Rendering needs no cluster: only the pinned helm.
"""

from __future__ import annotations

import json

import pytest

from tests.chart.helm import (
    CHART,
    Helm,
    HelmError,
    Manifest,
    containers,
    env_of,
    is_hook,
    kinds_and_names,
    one,
)
from tools.dashboard import all_queries

pytestmark = pytest.mark.controlplane

NAMESPACE = "lab-ns"
RELEASE = "lab"
FULLNAME = "lab-backpressure-lab"
CONFIG = "backpressure-lab"
MONITORING_APIS = ["--api-versions=monitoring.coreos.com/v1/ServiceMonitor",
                   "--api-versions=monitoring.coreos.com/v1/PrometheusRule"]  # fmt: skip
NO_INTEGRATIONS = {"serviceMonitor.enabled": "false", "prometheusRule.enabled": "false", "dashboards.enabled": "false"}
ALERTS = {
    "BackpressureQueueGrowing",
    "BackpressureItemsRejected",
    "BackpressureConsumerSaturated",
    "BackpressureProducerMemoryNearLimit",
    "BackpressureProducerOOMKilled",
}


def name(component: str) -> str:
    return f"{FULLNAME}-{component}"


def render(helm: Helm, **sets: str) -> list[Manifest]:
    return helm.template(sets=sets, namespace=NAMESPACE, release=RELEASE)


def render_served(helm: Helm, **sets: str) -> list[Manifest]:
    """`helm template` as for a cluster that serves monitoring.coreos.com/v1."""
    return helm.template(sets=sets, namespace=NAMESPACE, release=RELEASE, extra=MONITORING_APIS)


def diff(helm: Helm, sets: dict[str, str], *, hooks: bool = False) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(objects the values add, objects they remove) against the default render."""
    default = kinds_and_names(render(helm), hooks=hooks)
    toggled = kinds_and_names(render(helm, **sets), hooks=hooks)
    return toggled - default, default - toggled


def service_workloads(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {c: one(manifests, "Deployment", name(c)) for c in ("producer", "consumer")}


@pytest.fixture(scope="module")
def defaults(helm: Helm) -> list[Manifest]:
    return render(helm)


# --- lint -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sets", [{}, NO_INTEGRATIONS], ids=["defaults", "no-integrations"])
def test_helm_lint_is_clean(helm: Helm, sets: dict[str, str]) -> None:
    args = [f"--set={key}={value}" for key, value in sets.items()]
    out = helm.run("lint", "--strict", "--namespace", NAMESPACE, str(CHART), *args)
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out, out
    assert "[ERROR]" not in out, out


# --- the default render ---------------------------------------------------------------------------------------------


def test_defaults_render_the_lab_the_operator_jaeger_and_the_admin_secret(defaults: list[Manifest]) -> None:
    expected = {
        ("Secret", name("admin")), ("BackpressureConfig", CONFIG), ("ConfigMap", name("dashboards")),
        ("Deployment", name("producer")), ("Service", name("producer")),
        ("Deployment", name("consumer")), ("Service", name("consumer")),
        ("Deployment", name("operator")), ("ServiceAccount", name("operator")),
        ("Role", name("operator")), ("RoleBinding", name("operator")),
        ("Deployment", name("jaeger")), ("Service", name("jaeger")), ("Service", name("jaeger-ui")),
        ("ConfigMap", name("jaeger")),
    }  # fmt: skip
    rendered = kinds_and_names(defaults)
    assert rendered == expected
    hooks = {m["metadata"]["name"] for m in defaults if is_hook(m) and m["kind"] == "Pod"}
    assert name("test-services") in hooks


def test_every_object_has_the_common_labels_and_a_dns_label_name(defaults: list[Manifest]) -> None:
    for manifest in defaults:
        meta = manifest["metadata"]
        labels = meta["labels"]
        assert len(meta["name"]) <= 63, meta["name"]
        assert labels["app.kubernetes.io/name"] == "backpressure-lab", meta["name"]
        assert labels["app.kubernetes.io/instance"] == RELEASE, meta["name"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm", meta["name"]
        assert labels["app.kubernetes.io/part-of"] == "backpressure-lab", meta["name"]
        assert labels["helm.sh/chart"] == "backpressure-lab-0.1.0", meta["name"]
        assert "app.kubernetes.io/component" in labels, meta["name"]


def test_services_select_their_pods_and_the_producer_finds_the_consumer(defaults: list[Manifest]) -> None:
    for component, deployment in service_workloads(defaults).items():
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}
        service = one(defaults, "Service", name(component))
        assert service["spec"]["selector"] == selector
        (container,) = containers(deployment)
        assert container["name"] == component
        assert container["command"] == [f"bplab-{component}"]
        port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        assert env_of(container)["BPLAB_PORT"] == str(port)
    producer_env = env_of(containers(one(defaults, "Deployment", name("producer")))[0])
    assert producer_env["BPLAB_CONSUMER_URL"] == f"http://{name('consumer')}:8001"
    assert producer_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{name('jaeger')}:4318"


def test_every_pod_is_restricted_and_has_a_memory_limit(defaults: list[Manifest]) -> None:
    workloads = [m for m in defaults if m["kind"] in {"Deployment", "Pod"}]
    assert workloads
    for workload in workloads:
        pod = workload["spec"] if workload["kind"] == "Pod" else workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"]["memory"], container["name"]


def test_admin_token_is_generated_and_referenced(defaults: list[Manifest]) -> None:
    secret = one(defaults, "Secret", name("admin"))
    assert len(secret["data"]["token"]) > 40  # base64 of 40 random characters
    for deployment in service_workloads(defaults).values():
        ref = env_of(containers(deployment)[0])["BPLAB_ADMIN_TOKEN"]["secretKeyRef"]
        assert ref == {"name": name("admin"), "key": "token"}


# --- toggles ----------------------------------------------------------------------------------------------------------


def test_monitoring_is_wired_only_when_the_cluster_serves_it(helm: Helm) -> None:
    """The defaults (`auto`): without monitoring.coreos.com/v1 nothing of it renders, with it both monitors and the
    rule do, without any flag."""
    without = kinds_and_names(render(helm))
    assert not {kind for kind, _ in without} & {"ServiceMonitor", "PrometheusRule"}
    served = kinds_and_names(render_served(helm))
    assert served - without == {
        ("ServiceMonitor", name("producer")), ("ServiceMonitor", name("consumer")), ("PrometheusRule", name("alerts")),
    }  # fmt: skip
    assert not without - served


def test_explicit_true_needs_the_api_and_false_always_wins(helm: Helm) -> None:
    for key in ("serviceMonitor", "prometheusRule"):
        with pytest.raises(HelmError) as failure:
            render(helm, **{f"{key}.enabled": "true"})
        assert f"{key}.enabled=true, but this cluster does not serve monitoring.coreos.com/v1/" in failure.value.stderr
        assert "install kube-prometheus-stack" in failure.value.stderr
        assert "no matches for kind" not in failure.value.stderr
    off = {"serviceMonitor.enabled": "false", "prometheusRule.enabled": "false"}
    assert not {kind for kind, _ in kinds_and_names(render_served(helm, **off))} & {
        "ServiceMonitor", "PrometheusRule",
    }  # fmt: skip
    forced = render_served(helm, **{"serviceMonitor.enabled": "true", "prometheusRule.enabled": "true"})
    assert {kind for kind, _ in kinds_and_names(forced)} >= {"ServiceMonitor", "PrometheusRule"}


def test_service_monitors(helm: Helm) -> None:
    rendered = render_served(helm, **{"serviceMonitor.interval": "7s"})
    for component in ("producer", "consumer"):
        monitor = one(rendered, "ServiceMonitor", name(component))
        service = one(rendered, "Service", name(component))
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint == {"port": "http", "path": "/metrics", "interval": "7s", "honorLabels": True}
        assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}


def test_prometheus_rule(helm: Helm) -> None:
    rendered = render_served(helm, **{"prometheusRule.additionalLabels.release": "kps"})
    rule = one(rendered, "PrometheusRule", name("alerts"))
    assert rule["metadata"]["labels"]["release"] == "kps"
    (group,) = rule["spec"]["groups"]
    assert {r["alert"] for r in group["rules"]} == ALERTS
    for alert in group["rules"]:
        assert f'namespace="{NAMESPACE}"' in alert["expr"], alert["alert"]
        assert alert["labels"]["severity"] in {"info", "warning", "critical"}
        assert "{{ $" in alert["annotations"]["description"]  # left for Prometheus, not eaten by helm


def test_dashboard_is_on_by_default_and_keeps_its_sidecar_label(helm: Helm) -> None:
    added, removed = diff(helm, {"dashboards.enabled": "false"})
    assert not added
    assert removed == {("ConfigMap", name("dashboards"))}
    labels = {"dashboards.additionalLabels.grafana_dashboard": "no", "dashboards.additionalLabels.team": "lab"}
    rendered = render(helm, **{"dashboards.jaegerUrl": "http://jaeger.test:16686", **labels})
    config_map = one(rendered, "ConfigMap", name("dashboards"))
    # Overriding the sidecar's label would hide the dashboard without a word: it stays "1", the others are added.
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["labels"]["team"] == "lab"
    dashboard = json.loads(config_map["data"]["backpressure-lab.json"])
    assert dashboard["uid"] == "backpressure-lab"
    assert dashboard["links"][0]["url"].startswith("http://jaeger.test:16686/search")
    exprs = [t["expr"] for panel in dashboard["panels"] if panel["type"] != "row" for t in panel["targets"]]
    assert exprs == [expr for _, expr in all_queries()]


def test_no_pod_but_the_operators_mounts_a_service_account_token(defaults: list[Manifest]) -> None:
    for component in ("producer", "consumer", "jaeger"):
        pod = one(defaults, "Deployment", name(component))["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, component
    assert one(defaults, "Pod", name("test-services"))["spec"]["automountServiceAccountToken"] is False
    jaeger = one(defaults, "Deployment", name("jaeger"))["spec"]["template"]["spec"]
    (tmp,) = [volume for volume in jaeger["volumes"] if volume["name"] == "tmp"]
    assert tmp["emptyDir"]["sizeLimit"] == "16Mi"


def test_jaeger_toggle_removes_jaeger_and_its_default_endpoint(helm: Helm) -> None:
    added, removed = diff(helm, {"jaeger.enabled": "false"})
    assert not added
    assert removed == {("Deployment", name("jaeger")), ("Service", name("jaeger")), ("Service", name("jaeger-ui")),
                       ("ConfigMap", name("jaeger"))}  # fmt: skip
    # Without the chart's Jaeger there is no default collector: tracing stays off unless an endpoint is given.
    for deployment in service_workloads(render(helm, **{"jaeger.enabled": "false"})).values():
        env = env_of(containers(deployment)[0])
        assert env["OTEL_SDK_DISABLED"] == "true"
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env
    elsewhere = render(helm, **{"jaeger.enabled": "false", "tracing.endpoint": "http://otel.test:4318"})
    for deployment in service_workloads(elsewhere).values():
        env = env_of(containers(deployment)[0])
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel.test:4318"
        assert "OTEL_SDK_DISABLED" not in env


def test_tracing_toggle(helm: Helm) -> None:
    added, removed = diff(helm, {"tracing.enabled": "false"})
    assert not added
    assert not removed
    for deployment in service_workloads(render(helm, **{"tracing.enabled": "false"})).values():
        env = env_of(containers(deployment)[0])
        assert env["OTEL_SDK_DISABLED"] == "true"
        assert not {key for key in env if key.startswith("OTEL_") and key != "OTEL_SDK_DISABLED"}
    sampled = render(helm, **{"tracing.sampler": "parentbased_traceidratio", "tracing.samplerArg": "0.25"})
    for component, deployment in service_workloads(sampled).items():
        env = env_of(containers(deployment)[0])
        assert env["OTEL_SERVICE_NAME"] == component
        assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
        assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
        assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"service.namespace={NAMESPACE},deployment.environment=lab"


def test_config_create_toggle(helm: Helm) -> None:
    added, removed = diff(helm, {"config.create": "false"}, hooks=True)
    assert not added
    test_config = name("test-config")
    assert removed == {
        ("BackpressureConfig", CONFIG),
        ("ServiceAccount", test_config), ("Role", test_config), ("RoleBinding", test_config), ("Pod", test_config),
    }  # fmt: skip
    config = one(render(helm, **{"config.spec.producer.queueMode": "bounded"}), "BackpressureConfig", CONFIG)
    assert config["spec"]["producer"]["queueMode"] == "bounded"
    # By default Helm sets no spec field (an exercise applied server-side then meets no conflict with Helm).
    assert one(render(helm), "BackpressureConfig", CONFIG)["spec"] == {}
    renamed = render(helm, **{"config.name": "lab-config"})
    assert one(renamed, "BackpressureConfig", "lab-config")


def test_existing_admin_secret_toggle(helm: Helm) -> None:
    added, removed = diff(helm, {"adminToken.existingSecret": "learner-token"})
    assert not added
    assert removed == {("Secret", name("admin"))}
    refs = [
        item["valueFrom"]["secretKeyRef"]
        for workload in render(helm, **{"adminToken.existingSecret": "learner-token"})
        if workload["kind"] in {"Deployment", "Pod"}
        for container in containers(workload)
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    ]
    assert refs
    assert all(ref == {"name": "learner-token", "key": "token"} for ref in refs), refs


# --- values.schema.json -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "field", "why"),
    [
        ({"producerr.replicas": "1"}, "'producerr'", "additional properties"),
        ({"producer.replicass": "2"}, "'replicass'", "additional properties"),
        ({"serviceMonitor.enable": "true"}, "'enable'", "additional properties"),
        ({"config.spec.consumer.processingTimeMS": "5"}, "'processingTimeMS'", "additional properties"),
        ({"config.spec.producer.maxQueueSize": "0"}, "/config/spec/producer/maxQueueSize", "minimum"),
        ({"config.spec.producer.productionRate": "20000"}, "/config/spec/producer/productionRate", "maximum"),
        ({"config.spec.consumer.concurrency": "2000"}, "/config/spec/consumer/concurrency", "maximum"),
        ({"config.spec.producer.queueMode": "bounde"}, "/config/spec/producer/queueMode", "value must be one of"),
        ({"producer.resources.limits.memory": "null"}, "/producer/resources/limits", "missing property 'memory'"),
        ({"producer.service.nodePort": "8000"}, "/producer/service/nodePort", "minimum"),
    ],
    ids=lambda value: ",".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None,
)
def test_schema_rejects_with_a_message_naming_the_field(helm: Helm, sets: dict[str, str], field: str, why: str) -> None:
    with pytest.raises(HelmError) as failure:
        render(helm, **sets)
    message = failure.value.stderr
    assert "values don't meet the specifications of the schema" in message
    assert field in message, message
    assert why in message, message


def test_notes_say_which_integrations_were_wired_and_why(helm: Helm) -> None:
    """Without monitoring.coreos.com/v1 (a client-side dry run knows only the built-in APIs): nothing of it in the
    manifest, and NOTES say so and what to do; the dashboard ConfigMap is there either way."""
    out = helm.run("install", RELEASE, str(CHART), f"--namespace={NAMESPACE}", "--dry-run=client")
    manifest, notes = out.split("\nNOTES:\n")
    assert "kind: ServiceMonitor" not in manifest
    assert "kind: PrometheusRule" not in manifest
    for line in (
        "ServiceMonitors  not wired: serviceMonitor.enabled=auto, and the cluster does not serve "
        "monitoring.coreos.com/v1 (install kube-prometheus-stack, then helm upgrade)",
        f"Dashboard        ConfigMap {name('dashboards')} (label grafana_dashboard=1, for Grafana's sidecar)",
        f"kubectl -n {NAMESPACE} apply --server-side -f examples/02-slow-consumer.yaml",
        f"kubectl -n {NAMESPACE} wait --for=condition=Ready bpc/{CONFIG}",
    ):
        assert line in notes, notes
    off = helm.run("install", RELEASE, str(CHART), f"--namespace={NAMESPACE}", "--dry-run=client",
                   "--set=prometheusRule.enabled=false")  # fmt: skip
    assert "PrometheusRule   not wired: prometheusRule.enabled=false\n" in off


def test_only_the_node_ports_the_chart_names_are_taken(defaults: list[Manifest]) -> None:
    """A NodePort Service gives each of its ports a node port: a port without one is drawn at random from the cluster's
    range and can take one that a later release or another chart names. Every node port the chart asks for is named."""
    node_services = [m for m in defaults if m["kind"] == "Service" and m["spec"].get("type") == "NodePort"]
    assert {m["metadata"]["name"] for m in node_services} == {name("producer"), name("consumer"), name("jaeger-ui")}
    ports = [port for m in node_services for port in m["spec"]["ports"]]
    assert sorted(port.get("nodePort") for port in ports) == [30800, 30801, 31686]
