"""The container images a set of rendered manifests runs: what `make bundle` must carry so that nothing is pulled.

Reads `helm template` output (any number of YAML documents) on stdin, prints each image reference once, sorted.
An image is run by: a container or init container of any pod template (workloads, Jobs, CronJobs, hook and test Pods),
the `image` of a prometheus-operator resource (Prometheus, Alertmanager, ThanosRuler), and the config reloader that
prometheus-operator adds to each of them, named by its `--prometheus-config-reloader=` argument.
Usage: helm template ... | python3 tools/bundle/images.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

OPERATOR_RESOURCES = ("Prometheus", "Alertmanager", "ThanosRuler")
RELOADER_FLAG = "--prometheus-config-reloader="


def pod_specs(manifest: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The pod specs a manifest holds: its own (a Pod), its template's, or its job template's (a CronJob)."""
    spec = manifest.get("spec") or {}
    if manifest.get("kind") == "Pod":
        yield spec
    template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
    if template:
        yield template.get("spec") or {}


def images_of(manifest: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    if manifest.get("kind") in OPERATOR_RESOURCES and manifest.get("spec", {}).get("image"):
        found.add(manifest["spec"]["image"])
    for pod in pod_specs(manifest):
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            found.add(container["image"])
            found |= {
                arg.removeprefix(RELOADER_FLAG) for arg in container.get("args", []) if arg.startswith(RELOADER_FLAG)
            }
    return found


def images(manifests: Iterable[Mapping[str, Any] | None]) -> list[str]:
    return sorted(set().union(*(images_of(manifest) for manifest in manifests if manifest)))


def main() -> None:
    print("\n".join(images(yaml.safe_load_all(sys.stdin))))


if __name__ == "__main__":
    main()
