"""The cluster side of `bplab`: applying an exercise's BackpressureConfig and reading its status with kubectl."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from backpressure_lab.cli.client import LabError
from backpressure_lab.cli.exercises import CONFIG_NAME, Exercise

EXPECTED_CONTEXT_PREFIX = "kind-backpressure-lab"


@dataclass(frozen=True)
class Cluster:
    namespace: str
    context: str | None = None

    def _kubectl(self, *args: str, stdin: str | None = None) -> str:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise LabError("kubectl not found on PATH: install it, or run `make tools` and add its bin folder to PATH")
        command = [kubectl, *(["--context", self.context] if self.context else []), "-n", self.namespace, *args]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=30, check=False)
        if result.returncode != 0:
            message = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
            if "the server doesn't have a resource type" in message or "no matches for kind" in message:
                raise LabError("the BackpressureConfig CRD is missing: install the lab with `make up`")
            raise LabError(f"kubectl {' '.join(args[:2])} failed: {message}")
        return result.stdout

    def check_context(self) -> None:
        current = self._kubectl("config", "current-context").strip() if self.context is None else self.context
        if not current.startswith(EXPECTED_CONTEXT_PREFIX):
            raise LabError(
                f"kubectl's context is {current!r}, not the lab's {EXPECTED_CONTEXT_PREFIX!r}: "
                f"run `kubectl config use-context {EXPECTED_CONTEXT_PREFIX}` or pass --context"
            )

    def apply(self, exercise: Exercise) -> None:
        self._kubectl("apply", "-f", "-", stdin=exercise.manifest())

    def config(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self._kubectl("get", "backpressureconfig", CONFIG_NAME, "-o", "json"))
        return document

    def producer_restarts(self) -> int:
        pods = json.loads(self._kubectl("get", "pods", "-l", "app.kubernetes.io/component=producer", "-o", "json"))
        return sum(
            status.get("restartCount", 0)
            for pod in pods.get("items", [])
            for status in pod.get("status", {}).get("containerStatuses", [])
        )
