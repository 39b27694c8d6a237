"""A real Prometheus (Debian's /usr/bin/prometheus) on loopback, its HTTP API, and the stand-ins it scrapes.

- `PrometheusApi`: instant and range queries, alerts; of `Prometheus` (the binary started with a temp config, TSDB
  dir and free port) and of `RemotePrometheus` (the single node's, tests/node/test_monitoring.py).
- `KubeStateMetricsStandIn`: a stand-in, not kube-state-metrics: its two container-status series, in its exposition
  format, derived from Pod objects the way kube-state-metrics derives them, so this tier runs without a cluster. The
  real kube-state-metrics (built from k8s.io/kube-state-metrics/v2) feeds the real node's Prometheus in the node tier,
  where the same dashboard queries and the OOM alert are checked again (tests/node/test_monitoring.py).
- `MemoryCgroup`: a memory cgroup (v1 or v2) with a limit, so the producer reads a real limit on loopback.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane.cluster import ManagedProcess, wait_until
from tests.ports import free_port

CGROUP_ROOT = Path("/sys/fs/cgroup")
SCRAPE_INTERVAL = "1s"


class PrometheusError(RuntimeError):
    """The HTTP API answered an error (a query that does not parse says so here)."""


# --- Prometheus ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScrapeTarget:
    address: str
    labels: Mapping[str, str] = field(default_factory=dict)


def prometheus_config(jobs: Mapping[str, list[ScrapeTarget]], rule_files: list[Path]) -> dict[str, Any]:
    """Every job scrapes each second with honor_labels (as the chart's ServiceMonitor and kube-prometheus-stack's
    kube-state-metrics monitor do): the targets' own `service`, `namespace`, `pod` labels win."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL,
                   "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "honor_labels": True, "static_configs": [
                {"targets": [target.address], "labels": dict(target.labels)} for target in targets
            ]}
            for job, targets in jobs.items()
        ],
    }  # fmt: skip


class PrometheusApi:
    """Prometheus' HTTP API at a base URL: instant and range queries, alerts, any other /api/v1 endpoint."""

    @property
    def url(self) -> str:
        raise NotImplementedError

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> tuple[int, Any]:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read().decode()
                status = int(response.status)
        except urllib.error.HTTPError as err:
            body, status = err.read().decode(errors="replace"), err.code
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def api(self, path: str, **params: str) -> Any:
        status, body = self._get(f"/api/v1/{path}", params)
        if status != 200 or not isinstance(body, dict) or body.get("status") != "success":
            raise PrometheusError(f"/api/v1/{path} {params}: HTTP {status}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query at now: the result vector (raises PrometheusError when the expression is invalid)."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: float = 1.0) -> list[dict[str, Any]]:
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step}")
        result: list[dict[str, Any]] = data["result"]
        return result

    def active_alerts(self) -> dict[str, str]:
        """alertname -> state (pending or firing) of every active alert."""
        return {alert["labels"]["alertname"]: alert["state"] for alert in self.api("alerts")["alerts"]}


@dataclass(frozen=True)
class RemotePrometheus(PrometheusApi):
    """A Prometheus somebody else runs (the single node's, reached on its NodePort)."""

    base_url: str

    @property
    def url(self) -> str:
        return self.base_url


@dataclass
class Prometheus(PrometheusApi):
    """The binary started here with a temp config, TSDB dir and free port."""

    binary: Path
    workdir: Path
    port: int = 0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, config: Mapping[str, Any], timeout: float = 30.0) -> None:
        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(dict(config), sort_keys=False))
        self.port = free_port()
        self.process = ManagedProcess("prometheus", [
            str(self.binary),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ], self.workdir / "prometheus.log")  # fmt: skip
        self.process.start()
        wait_until(lambda: self._get("/-/ready")[0] == 200, timeout=timeout, what="prometheus /-/ready",
                   proc=self.process)  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=10.0)

    def log(self) -> str:
        return self.process.tail(60) if self.process is not None else ""


def numbers(result: list[dict[str, Any]]) -> list[float]:
    """Every sample value of an instant (`value`) or range (`values`) result."""
    pairs = [pair for series in result for pair in ([series["value"]] if "value" in series else series["values"])]
    return [float(value) for _, value in pairs]


def has_data(result: list[dict[str, Any]]) -> bool:
    """At least one sample that is a number (NaN is what a ratio or quantile of nothing gives: not data)."""
    return any(not math.isnan(value) for value in numbers(result))


# Grafana's variables as the dashboard is used in the tests: every namespace, and a rate window a few scrapes wide.
GRAFANA_VARIABLES = {"$namespace": ".*", "$__rate_interval": "30s"}


def grafana_expr(expr: str) -> str:
    """A dashboard query as Grafana sends it, its variables replaced."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, expr
    return expr


# --- kube-state-metrics' container-status series ------------------------------------------------------------------


def kube_state_metrics_text(pods: Sequence[Mapping[str, Any]]) -> str:
    """kube_pod_container_status_restarts_total and ..._last_terminated_reason for `pods`, as kube-state-metrics
    v2 writes them: one series per container, labels namespace, pod, uid, container (and reason)."""
    restarts = [
        "# HELP kube_pod_container_status_restarts_total [STABLE] The number of container restarts per container.",
        "# TYPE kube_pod_container_status_restarts_total counter",
    ]
    reasons = [
        "# HELP kube_pod_container_status_last_terminated_reason Describes the last reason the container was in"
        " terminated state.",
        "# TYPE kube_pod_container_status_last_terminated_reason gauge",
    ]
    for pod in pods:
        meta = pod["metadata"]
        for status in pod.get("status", {}).get("containerStatuses", []):
            labels = (f'namespace="{meta["namespace"]}",pod="{meta["name"]}",uid="{meta["uid"]}",'
                      f'container="{status["name"]}"')  # fmt: skip
            restarts.append(f"kube_pod_container_status_restarts_total{{{labels}}} {status.get('restartCount', 0)}")
            reason = status.get("lastState", {}).get("terminated", {}).get("reason")
            if reason:
                reasons.append(f'kube_pod_container_status_last_terminated_reason{{{labels},reason="{reason}"}} 1')
    return "\n".join([*restarts, *reasons]) + "\n"


def pod_object(namespace: str, name: str, container: str) -> dict[str, Any]:
    """A running Pod's object, as the API server returns it (just the fields kube-state-metrics reads here)."""
    return {
        "metadata": {"namespace": namespace, "name": name, "uid": str(uuid.uuid4())},
        "status": {"containerStatuses": [{"name": container, "restartCount": 0, "lastState": {}}]},
    }


def oom_killed(pod: dict[str, Any]) -> None:
    """What the kubelet writes into a Pod's status after the kernel OOM-killed its container and it restarted."""
    status = pod["status"]["containerStatuses"][0]
    status["restartCount"] += 1
    status["lastState"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}


class KubeStateMetricsStandIn:
    """Serves `kube_state_metrics_text(pods)` on loopback; `pods` may be changed while it runs."""

    def __init__(self, pods: list[dict[str, Any]]) -> None:
        self.pods = pods
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer.lock:
                    payload = kube_state_metrics_text(outer.pods).encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: Prometheus scrapes every second."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="kube-state-metrics", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> KubeStateMetricsStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# --- a memory cgroup for the producer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryCgroup:
    path: Path
    version: int

    @property
    def limit_file(self) -> Path:
        return self.path / ("memory.limit_in_bytes" if self.version == 1 else "memory.max")

    def set_limit(self, limit_bytes: int) -> None:
        self.limit_file.write_text(str(limit_bytes))

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))


def writable_memory_parent() -> tuple[Path, int] | None:
    """Where a memory cgroup can be made: cgroup v1's memory hierarchy, or a v2 root delegating `memory`."""
    v1 = CGROUP_ROOT / "memory"
    if (v1 / "memory.limit_in_bytes").exists():
        return (v1, 1) if os.access(v1, os.W_OK) else None
    subtree = CGROUP_ROOT / "cgroup.subtree_control"
    if subtree.exists() and os.access(subtree, os.W_OK) and "memory" in subtree.read_text().split():
        return CGROUP_ROOT, 2
    return None


@contextmanager
def memory_cgroup(parent: Path, version: int) -> Iterator[MemoryCgroup]:
    """A fresh child cgroup; on exit anything left in it goes back to the parent and the cgroup is removed."""
    path = parent / f"bplab-prometheus-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield MemoryCgroup(path, version)
    finally:
        procs = path / "cgroup.procs"
        for pid in procs.read_text().split() if procs.exists() else []:
            with suppress(OSError):
                (parent / "cgroup.procs").write_text(pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.1)
