"""The OOM lesson's wait for the operator's event, against a real kube-apiserver: the event arrives seconds after the
wait starts (as it did in the cold CI run that failed), and the wait returns it instead of failing on the empty list."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client

from tests.controlplane.cluster import ControlPlane

pytestmark = pytest.mark.controlplane

LESSON = Path(__file__).resolve().parents[2] / "tools" / "lib" / "oom-lesson.sh"
DELAY_SECONDS = 3.0


def post_oom_event(api: client.ApiClient, namespace: str) -> None:
    client.CoreV1Api(api).create_namespaced_event(
        namespace,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name="backpressure-lab-"),
            involved_object=client.V1ObjectReference(
                api_version="lab.backpressure.dev/v1alpha1", kind="BackpressureConfig", name="backpressure-lab",
                namespace=namespace,
            ),
            reason="OOMKilled", message="producer backpressure-lab-producer-x OOM-killed (late)", type="Warning",
        ),
    )  # fmt: skip


def test_the_wait_for_the_operators_event_outlasts_an_empty_list(
    control_plane: ControlPlane, api_client: client.ApiClient, namespace: str
) -> None:
    env = {**os.environ, "KUBECONFIG": str(control_plane.admin_kubeconfig),
           "KUBECTL": str(control_plane.binaries.kubectl)}  # fmt: skip
    late = threading.Timer(DELAY_SECONDS, post_oom_event, args=(api_client, namespace))
    started = time.monotonic()
    late.start()
    try:
        result = subprocess.run(
            ["bash", "-c", f". {LESSON} {namespace} http://unused; "
             'WAIT_INTERVAL=0.5 wait_until 60 "the event" oom_event && echo "$event"'],
            env=env, capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    finally:
        late.join()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "producer backpressure-lab-producer-x OOM-killed (late)"
    assert time.monotonic() - started >= DELAY_SECONDS  # it waited for the late event rather than finding one


def test_the_old_query_fails_on_the_same_empty_list(control_plane: ControlPlane, namespace: str) -> None:
    # What ended the lesson: a jsonpath index on an empty list is an error, not an empty answer.
    result = subprocess.run(
        [str(control_plane.binaries.kubectl), "--kubeconfig", str(control_plane.admin_kubeconfig), "-n", namespace,
         "get", "events", "--field-selector", "reason=OOMKilled,involvedObject.kind=BackpressureConfig",
         "-o", "jsonpath={.items[-1:].message}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "out of bounds" in result.stderr
