"""helm bound to its own home (the binary: tests/tool_cache.py), and the chart rendered into parsed objects.

No pytest in here: tests/prometheus renders the PrometheusRule with the same helpers.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane.cluster import read_versions

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "backpressure-lab"
MONITORING_CRDS_SCRIPT = REPO / "tools" / "monitoring-crds.sh"

Manifest = dict[str, Any]


class HelmError(RuntimeError):
    """helm exited non-zero; the message carries its stderr (a schema error names the field there)."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"helm {' '.join(args)} failed ({returncode}):\n{stderr}")
        self.stderr = stderr


@dataclass(frozen=True)
class Helm:
    """helm with its own config, cache and data dirs (never the user's), optionally bound to one kubeconfig."""

    binary: Path
    home: Path
    kubeconfig: Path | None = None

    def for_cluster(self, kubeconfig: Path) -> Helm:
        return Helm(self.binary, self.home, kubeconfig)

    def run(self, *args: str, timeout: float = 120) -> str:
        env = {
            **os.environ,
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        command = [str(self.binary), *args]
        if self.kubeconfig is not None:
            command.append(f"--kubeconfig={self.kubeconfig}")
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if result.returncode != 0:
            raise HelmError(args, result.returncode, result.stderr)
        return result.stdout

    def template(
        self,
        *,
        sets: Mapping[str, str] | None = None,
        namespace: str = "lab",
        release: str = "lab",
        extra: Sequence[str] = (),
    ) -> list[Manifest]:
        """`helm template` of the chart, each document parsed (hooks and, with --include-crds, CRDs included)."""
        args = ["template", release, str(CHART), f"--namespace={namespace}", *set_args(sets), *extra]
        return parse_documents(self.run(*args))


def set_args(sets: Mapping[str, str] | None) -> list[str]:
    return [f"--set={key}={value}" for key, value in (sets or {}).items()]


def parse_documents(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(manifests: Iterable[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]


def one(manifests: Iterable[Manifest], kind: str, name: str) -> Manifest:
    found = find(manifests, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def is_hook(manifest: Manifest) -> bool:
    return "helm.sh/hook" in (manifest["metadata"].get("annotations") or {})


def kinds_and_names(manifests: Iterable[Manifest], *, hooks: bool = False) -> set[tuple[str, str]]:
    return {(m["kind"], m["metadata"]["name"]) for m in manifests if hooks or not is_hook(m)}


def containers(workload: Manifest) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"] if workload["kind"] != "Pod" else workload["spec"]
    found: list[dict[str, Any]] = spec["containers"]
    return found


def env_of(container: Mapping[str, Any]) -> dict[str, Any]:
    """A container's env as name -> value (or the valueFrom mapping)."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def prometheus_rule_groups(helm: Helm, namespace: str) -> list[dict[str, Any]]:
    """The PrometheusRule's `spec.groups`, rendered for `namespace`: the body of a Prometheus rules file."""
    rendered = helm.template(
        sets={"prometheusRule.enabled": "true"},
        namespace=namespace,
        extra=["--api-versions=monitoring.coreos.com/v1/PrometheusRule"],
    )
    (rule,) = find(rendered, "PrometheusRule")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def monitoring_crd_files(timeout: float = 300) -> list[Path]:
    """The monitoring.coreos.com CRD files (tools/monitoring-crds.sh fetches them once into the tool cache)."""
    result = subprocess.run(
        [str(MONITORING_CRDS_SCRIPT), "--list"], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"tools/monitoring-crds.sh failed: {result.stderr.strip()}")
    return [Path(line) for line in result.stdout.splitlines() if line.strip()]


def render_stack(helm: Helm, repo_url: str, *values: Path) -> list[Manifest]:
    """kube-prometheus-stack at its pin from the repository at `repo_url` (the helm-mirror), rendered as
    tools/lib/kube-prometheus-stack.sh installs it (its release and namespace) with `values`, each document parsed."""
    helm.run("repo", "add", "prometheus-community", repo_url, "--force-update")
    rendered = helm.run(
        "template", "kube-prometheus-stack", "prometheus-community/kube-prometheus-stack",
        f"--version={read_versions()['KUBE_PROMETHEUS_STACK_VERSION']}", "--namespace=monitoring",
        *(f"--values={file}" for file in values), timeout=300,
    )  # fmt: skip
    return parse_documents(rendered)
