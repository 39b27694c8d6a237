"""A real Jaeger v2 (the pinned cmd/jaeger from the tool cache) running the chart's own config on loopback ports,
and a small client for its query API (the HTTP JSON API the Jaeger UI itself calls: /api/traces, /api/services).

No pytest in here: tests/tracing/conftest.py decides whether the tier can run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.ports import free_ports
from tests.tool_cache import cached_binary

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "backpressure-lab"
RELEASE = "lab"
NAMESPACE = "lab"

# What the chart promises (templates/jaeger.yaml) and what the services and the dashboard rely on.
CHART_PORTS = {"otlp_grpc": 4317, "otlp_http": 4318, "query_grpc": 16685, "query_http": 16686, "health": 13133}


def jaeger_binary() -> Path | None:
    """cmd/jaeger built by tools/build-tools.sh at the pinned JAEGER_VERSION, or None."""
    path = cached_binary("jaeger", "JAEGER_VERSION")
    return path if os.access(path, os.X_OK) else None


def render_chart(helm: Path, home: Path) -> list[dict[str, Any]]:
    """`helm template` of the chart with its default values (release `lab`, namespace `lab`), parsed."""
    env = {
        **os.environ,
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    result = subprocess.run(
        [str(helm), "template", RELEASE, str(CHART), f"--namespace={NAMESPACE}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"helm template failed ({result.returncode}): {result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def manifest(manifests: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    found = [
        m
        for m in manifests
        if m["kind"] == kind and m["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"expected one {kind} for {component}, found {len(found)}"
    return found[0]


def cluster_service(manifests: list[dict[str, Any]], component: str) -> dict[str, Any]:
    """A component's in-cluster (ClusterIP) Service: Jaeger's UI also has a NodePort Service of its own."""
    services = [m for m in manifests if m["kind"] == "Service" and m["spec"].get("type", "ClusterIP") == "ClusterIP"]
    return manifest(services, "Service", component)


def container_env(manifests: list[dict[str, Any]], component: str) -> dict[str, str]:
    """The plain `value` env of a component's Deployment (valueFrom entries left out)."""
    (container,) = manifest(manifests, "Deployment", component)["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


@dataclass(frozen=True)
class Ports:
    otlp_grpc: int
    otlp_http: int
    query_grpc: int
    query_http: int
    health: int

    @classmethod
    def free(cls) -> Ports:
        return cls(*free_ports(5))


def endpoints(config: Mapping[str, Any]) -> dict[str, str]:
    """The config's listen addresses by role (the keys of CHART_PORTS)."""
    extensions, otlp = config["extensions"], config["receivers"]["otlp"]["protocols"]
    return {
        "otlp_grpc": otlp["grpc"]["endpoint"],
        "otlp_http": otlp["http"]["endpoint"],
        "query_grpc": extensions["jaeger_query"]["grpc"]["endpoint"],
        "query_http": extensions["jaeger_query"]["http"]["endpoint"],
        "health": extensions["healthcheckv2"]["http"]["endpoint"],
    }


def on_loopback(config: Mapping[str, Any], ports: Ports) -> dict[str, Any]:
    """The chart's config with every listen address moved to 127.0.0.1:<free port>; nothing else changes."""
    moved: dict[str, Any] = json.loads(json.dumps(config))
    extensions, otlp = moved["extensions"], moved["receivers"]["otlp"]["protocols"]
    otlp["grpc"]["endpoint"] = f"127.0.0.1:{ports.otlp_grpc}"
    otlp["http"]["endpoint"] = f"127.0.0.1:{ports.otlp_http}"
    extensions["jaeger_query"]["grpc"]["endpoint"] = f"127.0.0.1:{ports.query_grpc}"
    extensions["jaeger_query"]["http"]["endpoint"] = f"127.0.0.1:{ports.query_http}"
    extensions["healthcheckv2"]["http"]["endpoint"] = f"127.0.0.1:{ports.health}"
    return moved


# --- The query API's view of a trace ---------------------------------------------------------------------------------
@dataclass
class Span:
    span_id: str
    parent_id: str | None
    name: str
    service: str
    start_us: int
    duration_us: int
    tags: dict[str, Any]
    children: list[Span] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.tags.get("span.kind", "internal"))

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us

    def only_child(self, name: str) -> Span:
        found = [child for child in self.children if child.name == name]
        assert len(found) == 1, f"{self.name} has {len(found)} children named {name!r}: {self.describe()}"
        return found[0]

    def children_named(self, name: str) -> list[Span]:
        return sorted((child for child in self.children if child.name == name), key=lambda s: s.start_us)

    def describe(self, depth: int = 0) -> str:
        line = f"{'  ' * depth}{self.service}:{self.name} [{self.kind}]"
        return "\n".join([line, *(child.describe(depth + 1) for child in self.children)])


@dataclass
class Trace:
    trace_id: str
    spans: list[Span]

    @property
    def roots(self) -> list[Span]:
        return [span for span in self.spans if span.parent_id is None]

    def named(self, name: str, service: str | None = None) -> list[Span]:
        return [s for s in self.spans if s.name == name and (service is None or s.service == service)]

    def describe(self) -> str:
        return "\n".join(root.describe() for root in self.roots)

    def reachable(self) -> int:
        """Spans in the trees under the roots (a span whose parent is missing is not)."""
        stack, count = list(self.roots), 0
        while stack:
            span = stack.pop()
            count += 1
            stack.extend(span.children)
        return count


def parse_trace(data: Mapping[str, Any]) -> Trace:
    services = {pid: process["serviceName"] for pid, process in data["processes"].items()}
    spans: dict[str, Span] = {}
    for raw in data["spans"]:
        parents = [ref["spanID"] for ref in raw.get("references") or [] if ref["refType"] == "CHILD_OF"]
        spans[raw["spanID"]] = Span(
            span_id=raw["spanID"],
            parent_id=parents[0] if parents else None,
            name=raw["operationName"],
            service=services[raw["processID"]],
            start_us=raw["startTime"],
            duration_us=raw["duration"],
            tags={tag["key"]: tag["value"] for tag in raw.get("tags") or []},
        )
    for span in sorted(spans.values(), key=lambda s: s.start_us):
        parent = spans.get(span.parent_id) if span.parent_id is not None else None
        if parent is not None:  # a parent may still be on its way (it ends, and is exported, after its children)
            parent.children.append(span)
    return Trace(data["traceID"], sorted(spans.values(), key=lambda s: s.start_us))


@dataclass
class Jaeger:
    process: subprocess.Popen[bytes]
    ports: Ports
    log: Path

    @property
    def otlp_http_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.otlp_http}"

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.query_http}"

    def get(self, path: str, **params: str | int) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.query_url + path + query, timeout=10) as response:
            return json.loads(response.read())

    def services(self) -> list[str]:
        return sorted(self.get("/api/services")["data"] or [])

    def traces(self, service: str, operation: str, limit: int = 5000) -> list[Trace]:
        """What the UI's search lists: traces holding `operation` of `service` from the last hour."""
        body = self.get("/api/traces", service=service, operation=operation, limit=limit, lookback="1h")
        return [parse_trace(data) for data in body["data"] or []]

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_jaeger(binary: Path, chart_config: Mapping[str, Any], work_dir: Path) -> Iterator[Jaeger]:
    """Jaeger with the chart's config on free loopback ports; ready (health 200) on entry, stopped on exit."""
    ports = Ports.free()
    config = work_dir / "jaeger-config.yaml"
    config.write_text(yaml.safe_dump(on_loopback(chart_config, ports), sort_keys=False))
    log = work_dir / "jaeger.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(binary), "--config", str(config)], stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    jaeger = Jaeger(process, ports, log)
    try:
        _wait_ready(jaeger)
        yield jaeger
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_ready(jaeger: Jaeger, timeout: float = 30) -> None:
    url = f"http://127.0.0.1:{jaeger.ports.health}/status"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if jaeger.process.poll() is not None:
            raise RuntimeError(f"jaeger exited with {jaeger.process.returncode}:\n{jaeger.stderr()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    jaeger.services()  # the query API answers too
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"jaeger was not ready within {timeout} s:\n{jaeger.stderr()}")
