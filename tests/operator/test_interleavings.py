"""Interleavings the happy paths never reach: a pod-watch push still in flight when a newer spec is reconciled, and
an event read before the status it announces.

With quiet_drift_lab the drift check runs every 60 s, so it cannot repair what the handlers leave behind within a
test: what a pod runs is exactly what the reconcile and the pod watch did.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from typing import Any

import pytest
import urllib3
from kubernetes import watch
from kubernetes.client import ApiException

from tests.operator.harness import (
    ADMIN_TOKEN,
    GROUP,
    PLURAL,
    VERSION,
    HoldingProxy,
    LoopbackPodStandIn,
    OperatorLab,
    bpc,
    helm_template,
    moment,
    wait_for,
)
from tests.operator.test_autoscale import AUTOSCALE, OVERLOAD
from tests.ports import free_port
from tests.services.lab import start_service, stop

pytestmark = pytest.mark.controlplane

OLDER = {"consumer": {"processingTimeMs": 300}}
NEWER = {"consumer": {"processingTimeMs": 400}}
HOLD_AT_MOST = 1.2
"""Seconds the first push is held, from its arrival: under the operator's 2 s HTTP timeout, so that push completes
for the operator too (one it gave up on could still land later: no lock can order that)."""


def test_a_readiness_push_racing_a_reconcile_never_leaves_the_pod_on_the_older_spec(
    quiet_drift_lab: OperatorLab,
) -> None:
    lab = quiet_drift_lab
    assert lab.kubectl_apply(bpc("lab", OLDER)).returncode == 0
    wait_for(lambda: lab.applied("lab", generation=1), 15, "generation 1 applied")

    # A second consumer pod starts with the service defaults; its pod IP:port is the proxy in front of it.
    backend = start_service("consumer", free_port(), lab.pod("consumer").log_dir, {"BPLAB_ADMIN_TOKEN": ADMIN_TOKEN})
    proxy = HoldingProxy(backend.port)
    pod = LoopbackPodStandIn(lab.core, lab.namespace, "lab-consumer-1", "consumer", proxy.port,
                             lab.pod("consumer").log_dir, {})  # fmt: skip
    try:
        pod.create()
        pod.set_status(ready=True)
        # The pod watch pushes generation 1's settings; the proxy holds that push in flight ...
        assert proxy.holding.wait(15), "the pod watch never pushed to the new pod"
        assert proxy.posts[0]["processing_time_ms"] == 300
        # ... while generation 2 is applied and reconciled (a direct API patch: a kubectl process may take longer
        # than the push can be held).
        lab.custom.patch_namespaced_custom_object(GROUP, VERSION, lab.namespace, PLURAL, "lab", {"spec": NEWER})
        deadline = proxy.held_at + HOLD_AT_MOST
        while time.monotonic() < deadline and not any(p["processing_time_ms"] == 400 for p in proxy.posts):
            time.sleep(0.01)
        proxy.release()
        assert proxy.held_done.wait(10), "the held push never completed"

        wait_for(lambda: lab.applied("lab", generation=2), 15, "generation 2 applied")
        # Generation 2 is recorded as applied: every pod runs it now, the late push of generation 1 included.
        assert backend.get("/admin/config")["config"]["processing_time_ms"] == 400, (
            f"the pod went back to the older spec; pushes it saw: {proxy.posts}"
        )
        assert lab.pod("consumer").config()["processing_time_ms"] == 400
    finally:
        proxy.close()
        stop(backend)


def test_an_applied_event_is_posted_only_once_the_status_says_so(operator_lab: OperatorLab) -> None:
    """`kubectl describe` must never show "Applied" for a generation the status does not yet report as applied."""
    lab = operator_lab
    seen: list[tuple[int, dict[str, Any]]] = []
    done = threading.Event()

    def read_status_on_each_applied_event() -> None:
        """Watch the config's events and read its status the moment an Applied event arrives (a watch that the
        server ends is opened again from where it stopped)."""
        version = ""
        while not done.is_set():
            events = watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for item in events.stream(  # type: ignore[no-untyped-call]
                    lab.core.list_namespaced_event,
                    lab.namespace,
                    timeout_seconds=5,
                    resource_version=version,
                    field_selector="involvedObject.name=lab",
                ):
                    event = item["object"]
                    version = event.metadata.resource_version
                    found = re.match(r"generation (\d+): ", str(event.message)) if event.reason == "Applied" else None
                    if found:
                        seen.append((int(found[1]), dict(lab.config("lab").get("status") or {})))
            except (ApiException, urllib3.exceptions.HTTPError):
                version = ""

    watcher = threading.Thread(target=read_status_on_each_applied_event, daemon=True)
    watcher.start()
    # Generation 1 may reach the pods through the pod watch (its event then names the pod): start from it.
    assert lab.kubectl_apply(bpc("lab", {"producer": {"productionRate": 11}})).returncode == 0
    wait_for(lambda: lab.applied("lab", generation=1), 15, "generation 1 applied")
    try:
        for generation, rate in enumerate((12, 13, 14, 15, 16, 17), start=2):
            assert lab.kubectl_apply(bpc("lab", {"producer": {"productionRate": rate}})).returncode == 0
            wait_for(functools.partial(lab.applied, "lab", generation), 15, f"generation {generation} applied")
            wait_for(functools.partial(_announced, seen, generation), 15, f"generation {generation}'s Applied event")
    finally:
        done.set()
        watcher.join(15)
    early = [
        (generation, status.get("observedGeneration"), status.get("conditions"))
        for generation, status in seen
        if not (status.get("observedGeneration", 0) >= generation and _applied_at_least(status, generation))
    ]
    assert not early, f"Applied events seen before the status recorded them: {early}"


def _announced(seen: list[tuple[int, dict[str, Any]]], generation: int) -> bool:
    return any(announced == generation for announced, _status in seen)


def _applied_at_least(status: dict[str, Any], generation: int) -> bool:
    return any(
        c.get("type") == "Applied" and c.get("status") == "True" and c.get("observedGeneration", 0) >= generation
        for c in status.get("conditions") or []
    )


def test_a_scaled_event_is_posted_only_once_the_status_shows_the_new_replicas(chart_drift_lab: OperatorLab) -> None:
    """`kubectl describe bpc` must not say "1 -> 3" while `kubectl get bpc` (CONSUMERS) still says 1: with the
    chart's 5 s drift check, the writer of status.autoscale."""
    lab = chart_drift_lab
    manifest = helm_template(
        lab.namespace, "templates/consumer-deployment.yaml", values={"config.spec.consumer.autoscale": AUTOSCALE}
    )
    path = lab.pod("consumer").log_dir / "consumer-deployment.yaml"
    path.write_text(manifest)
    lab.plane.kubectl("-n", lab.namespace, "apply", "-f", str(path))
    seen: list[tuple[str, dict[str, Any]]] = []
    done = threading.Event()

    def read_status_on_each_scaled_event() -> None:
        version = ""
        while not done.is_set():
            events = watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for item in events.stream(  # type: ignore[no-untyped-call]
                    lab.core.list_namespaced_event,
                    lab.namespace,
                    timeout_seconds=5,
                    resource_version=version,
                    field_selector="involvedObject.name=lab",
                ):
                    event = item["object"]
                    version = event.metadata.resource_version
                    if event.reason == "Scaled":
                        seen.append((str(event.message), dict(lab.config("lab").get("status") or {})))
            except (ApiException, urllib3.exceptions.HTTPError):
                version = ""

    watcher = threading.Thread(target=read_status_on_each_scaled_event, daemon=True)
    watcher.start()
    try:
        assert lab.kubectl_apply(bpc("lab", OVERLOAD)).returncode == 0
        wait_for(lambda: seen, 30, "a Scaled event")
    finally:
        done.set()
        watcher.join(15)
    for message, status in seen:
        target = int(re.search(r" -> (\d+):", message)[1])  # type: ignore[index]
        shown = (status.get("autoscale") or {}).get("replicas")
        assert shown == target, f"event {message!r} seen while status.autoscale.replicas was {shown}"


def test_a_became_ready_event_is_posted_only_once_the_status_shows_the_pod_current(
    chart_drift_lab: OperatorLab,
) -> None:
    """The pod watch pushes at once; its Applied event waits for the status to show the pod Current."""
    lab = chart_drift_lab
    assert lab.kubectl_apply(bpc("lab", {"producer": {"productionRate": 40}})).returncode == 0
    wait_for(lambda: lab.applied("lab"), 15, "applied")
    producer = lab.pod("producer")
    producer.stop_process()
    producer.restarts += 1
    producer.set_status(ready=False)
    lab.operator.wait_for_round("drift-check", started_after=moment())
    assert {p["name"]: p["phase"] for p in lab.config("lab")["status"]["pods"]}[producer.name] == "NotReady"

    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def read_status_on_the_became_ready_event() -> None:
        version = ""
        while not done.is_set():
            events = watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for item in events.stream(  # type: ignore[no-untyped-call]
                    lab.core.list_namespaced_event,
                    lab.namespace,
                    timeout_seconds=5,
                    resource_version=version,
                    field_selector="involvedObject.name=lab",
                ):
                    event = item["object"]
                    version = event.metadata.resource_version
                    if event.reason == "Applied" and "became ready" in str(event.message):
                        seen.append(dict(lab.config("lab").get("status") or {}))
            except (ApiException, urllib3.exceptions.HTTPError):
                version = ""

    watcher = threading.Thread(target=read_status_on_the_became_ready_event, daemon=True)
    watcher.start()
    try:
        producer.start_process()
        producer.set_status(ready=True)
        wait_for(lambda: producer.config()["production_rate"] == 40, 10, "settings pushed on readiness")
        wait_for(lambda: seen, 20, "the became-ready Applied event")
    finally:
        done.set()
        watcher.join(15)
    record = {p["name"]: p for p in seen[0]["pods"]}[producer.name]
    assert (record["phase"], record.get("generation")) == ("Current", 1), f"event seen while the status said {record}"
