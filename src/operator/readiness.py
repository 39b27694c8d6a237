"""`helm test`'s check of the release's BackpressureConfig: every pod runs the config's current generation.

    python -m backpressure_lab.operator.readiness NAMESPACE NAME [--timeout 120]

Run by the chart's test pod as its ServiceAccount (get on that one config). It passes only when the operator has
recorded the config's current generation, Ready is True for it, and every producer and consumer pod in status.pods is
Current on that generation; a pod still on an older generation fails it. `--server`, `--token-file` and `--ca-file`
default to the in-cluster values, so the same check runs from a test against any API server.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from backpressure_lab.operator.api import COMPONENTS, GROUP, PLURAL, VERSION
from backpressure_lab.operator.apply import CURRENT
from backpressure_lab.operator.conditions import READY

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def problems(config: Mapping[str, Any]) -> list[str]:
    """Pure: why the config is not ready on its current generation (empty: it is)."""
    generation = int((config.get("metadata") or {}).get("generation") or 0)
    status = config.get("status") or {}
    found: list[str] = []
    if status.get("observedGeneration") != generation:
        found.append(f"the operator has not recorded generation {generation} yet")
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == READY), None)
    if ready is None or ready.get("status") != "True" or ready.get("observedGeneration") != generation:
        detail = f"{ready.get('status')} ({ready.get('reason')}: {ready.get('message')})" if ready else "missing"
        found.append(f"Ready for generation {generation}: {detail}")
    pods = list(status.get("pods") or [])
    found += [f"no {c} pod in status.pods" for c in COMPONENTS if not any(p.get("component") == c for p in pods)]
    for pod in pods:
        if pod.get("phase") != CURRENT or pod.get("generation") != generation:
            found.append(
                f"pod {pod.get('name')} is {pod.get('phase')} on generation {pod.get('generation')}, "
                f"not {CURRENT} on {generation}"
            )
    return found


def _read(server: str, token: str, context: ssl.SSLContext, namespace: str, name: str) -> dict[str, Any]:
    url = f"{server.rstrip('/')}/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        body: dict[str, Any] = json.load(response)
    return body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backpressure_lab.operator.readiness", description=__doc__)
    parser.add_argument("namespace")
    parser.add_argument("name")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    parser.add_argument("--server", default="https://kubernetes.default.svc")
    parser.add_argument("--token-file", default=f"{SERVICE_ACCOUNT}/token")
    parser.add_argument("--ca-file", default=f"{SERVICE_ACCOUNT}/ca.crt")
    args = parser.parse_args(argv)
    with open(args.token_file) as token_file:
        token = token_file.read().strip()
    context = ssl.create_default_context(cafile=args.ca_file)
    deadline = time.monotonic() + args.timeout
    while True:
        config = _read(args.server, token, context, args.namespace, args.name)
        found = problems(config)
        if not found:
            generation = config["metadata"]["generation"]
            print(f"BackpressureConfig {args.name}: Ready, every pod runs generation {generation}")
            return 0
        if time.monotonic() >= deadline:
            print(f"BackpressureConfig {args.name} not ready after {args.timeout:g} s: " + "; ".join(found))
            return 1
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
