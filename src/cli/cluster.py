"""The cluster side of `bplab`: applying an exercise's BackpressureConfig and reading its status with kubectl."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from backpressure_lab.cli.client import LabError
from backpressure_lab.cli.exercises import CONFIG_NAME, Exercise

# The lab's kubectl contexts: kind's (`make up`) and this machine's single node's (`make up CLUSTER=node`).
EXPECTED_CONTEXT_PREFIXES = ("kind-backpressure-lab", "bplab-local")


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
        if not current.startswith(EXPECTED_CONTEXT_PREFIXES):
            raise LabError(
                f"kubectl's context is {current!r}, not one of the lab's {' or '.join(EXPECTED_CONTEXT_PREFIXES)}: "
                f"run `kubectl config use-context {EXPECTED_CONTEXT_PREFIXES[0]}` or pass --context"
            )

    def admin_token(self) -> str | None:
        """The bearer token the chart generated for the services' /admin/* (its Secret labelled component=admin);
        None when the release brings its own Secret (then pass --token)."""
        out = self._kubectl(
            "get", "secret", "-l", "app.kubernetes.io/component=admin", "-o", "jsonpath={.items[*].data.token}"
        )
        tokens = [base64.b64decode(encoded).decode().strip() for encoded in out.split()]
        return next((token for token in tokens if token), None)

    def apply(self, exercise: Exercise) -> None:
        """As the guide tells a learner to: server-side, as kubectl's own field manager, so bplab and the learner's
        `kubectl apply --server-side -f examples/...` own the same fields and neither warns nor conflicts (the chart
        creates the config server-side; a client-side apply would warn that it lacks last-applied-configuration)."""
        self._kubectl("apply", "--server-side", "-f", "-", stdin=exercise.manifest())

    def scale_consumers(self, replicas: int) -> None:
        """Set the consumer Deployment's replicas (after an autoscaling exercise: the baseline has one consumer)."""
        self._kubectl("scale", "deployment", "-l", "app.kubernetes.io/component=consumer", f"--replicas={replicas}")

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
