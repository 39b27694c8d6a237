"""The chart ships what the traced tests prove: the ports, the service names, the OTLP protocol and the Jaeger version.

The traced tests run the chart's own Jaeger config (only the listen addresses moved to loopback) and the chart's own
OTEL_* environment (only the endpoint's host moved); these tests pin down the parts that had to be substituted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.controlplane.cluster import read_versions
from tests.tracing.jaeger import CHART_PORTS, cluster_service, container_env, endpoints, manifest

pytestmark = pytest.mark.services


def test_jaeger_config_listens_where_the_chart_says(chart: list[dict[str, Any]], chart_jaeger_config: Any) -> None:
    assert endpoints(chart_jaeger_config) == {role: f"0.0.0.0:{port}" for role, port in CHART_PORTS.items()}
    deployment = manifest(chart, "Deployment", "jaeger")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    container_ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container_ports == {
        "otlp-grpc": CHART_PORTS["otlp_grpc"],
        "otlp-http": CHART_PORTS["otlp_http"],
        "query-grpc": CHART_PORTS["query_grpc"],
        "ui": CHART_PORTS["query_http"],
        "health": CHART_PORTS["health"],
    }
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/status", "port": "health"}  # healthcheckv2's status path
    service = cluster_service(chart, "jaeger")
    service_ports = {port["name"]: (port["port"], port["targetPort"]) for port in service["spec"]["ports"]}
    assert service_ports["otlp-http"] == (CHART_PORTS["otlp_http"], "otlp-http")
    assert service_ports["ui"] == (CHART_PORTS["query_http"], "ui")


def test_jaeger_keeps_its_heap_under_the_container_limit(chart: list[dict[str, Any]]) -> None:
    (container,) = manifest(chart, "Deployment", "jaeger")["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["memory"]
    gomemlimit = {item["name"]: item for item in container["env"]}["GOMEMLIMIT"]
    assert gomemlimit["valueFrom"] == {"resourceFieldRef": {"resource": "limits.memory"}}


def test_jaeger_config_stores_in_memory_and_does_not_trace_itself(chart_jaeger_config: Any) -> None:
    config = chart_jaeger_config
    store = config["extensions"]["jaeger_query"]["storage"]["traces"]
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] == store
    assert "memory" in config["extensions"]["jaeger_storage"]["backends"][store]
    assert config["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
    # Otherwise Jaeger sends its own query-API traces to localhost:4317 (itself) and lists a "jaeger" service.
    assert config["extensions"]["jaeger_query"]["enable_tracing"] is False


@pytest.mark.parametrize("component", ["producer", "consumer"])
def test_services_export_to_the_chart_jaeger_over_otlp_http(chart: list[dict[str, Any]], component: str) -> None:
    env = container_env(chart, component)
    jaeger_service = cluster_service(chart, "jaeger")["metadata"]["name"]
    assert env["OTEL_SERVICE_NAME"] == component
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{jaeger_service}:{CHART_PORTS['otlp_http']}"
    # The services' exporter is opentelemetry-exporter-otlp-proto-http: OTLP/HTTP with protobuf bodies.
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_always_on"
    assert "OTEL_SDK_DISABLED" not in env


def test_the_built_jaeger_is_the_version_the_chart_deploys(chart: list[dict[str, Any]], jaeger_version: str) -> None:
    tag = read_versions()["JAEGER_IMAGE_TAG"]
    (container,) = manifest(chart, "Deployment", "jaeger")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"jaegertracing/jaeger:{tag}"
    # `jaeger version` prints one JSON object first, then a log line.
    version = json.JSONDecoder().raw_decode(jaeger_version)[0]
    assert version["gitVersion"] == f"v{tag}"
