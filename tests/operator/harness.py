"""The operator under test, acting as the ServiceAccount + Role the chart ships, against a real control plane.

No kubelet runs here, so each producer and consumer "pod" is a real service process on loopback plus a Pod object
whose status (podIP 127.0.0.1, Ready, containerStatuses) the test writes through the status subresource:
`LoopbackPodStandIn`. Everything else is real: the CRD from crds/, the Role from `helm template`, kopf, HTTP.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client

from tests.controlplane.cluster import ControlPlane, ManagedProcess
from tests.ports import free_port
from tests.services.lab import Service, start_service, stop
from tests.tool_cache import cached_helm
from tests.waiting import poll

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "backpressure-lab"
CRDS = CHART / "crds"
RELEASE = "lab"
FULLNAME = f"{RELEASE}-backpressure-lab"
SETTINGS_CONFIGMAP = f"{FULLNAME}-settings"
OPERATOR_SA = f"{FULLNAME}-operator"
CONSUMER_DEPLOYMENT = f"{FULLNAME}-consumer"
ADMIN_TOKEN = "operator-test-token"
GROUP, VERSION, PLURAL = "lab.backpressure.dev", "v1alpha1", "backpressureconfigs"
OPERATOR_TEMPLATES = ("templates/operator-serviceaccount.yaml", "templates/operator-rbac.yaml")


def helm_template(namespace: str, *show_only: str, values: dict[str, Any] | None = None) -> str:
    args = [str(cached_helm()), "template", RELEASE, str(CHART), "--namespace", namespace]
    for template in show_only:
        args += ["--show-only", template]
    for key, value in (values or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


def moment() -> str:
    """Now, as the operator's heartbeat spells its times (RFC 3339 UTC, milliseconds): they compare as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until `check()` returns something truthy (returned; an exception means "not yet"); fail with `what` after
    `timeout` seconds."""
    polled = poll(check, timeout=timeout, interval=interval, not_yet=(Exception,))
    if not polled.done:
        raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {polled.last!r})")
    return polled.last


# --- The pods: real processes + Pod objects with a test-written status ---------------------------------------------


@dataclass
class LoopbackPodStandIn:
    """A producer or consumer process on 127.0.0.1 and the Pod object that stands for it (no kubelet runs)."""

    core: client.CoreV1Api
    namespace: str
    name: str
    component: str
    port: int
    log_dir: Path
    env: dict[str, str]
    service: Service | None = None
    restarts: int = 0
    uid: str = ""

    def create(self, memory_limit: str = "256Mi") -> None:
        pod = client.V1Pod(
            metadata=client.V1ObjectMeta(
                name=self.name,
                labels={"app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": self.component},
            ),
            spec=client.V1PodSpec(
                automount_service_account_token=False,
                containers=[
                    client.V1Container(
                        name=self.component,
                        image="backpressure-lab:test",
                        ports=[client.V1ContainerPort(name="http", container_port=self.port)],
                        resources=client.V1ResourceRequirements(limits={"memory": memory_limit}),
                    )
                ],
            ),
        )
        created = self.core.create_namespaced_pod(self.namespace, pod)
        assert created.metadata is not None
        self.uid = str(created.metadata.uid)

    def start_process(self, settings_file: Path | None = None) -> None:
        env = dict(self.env)
        if settings_file is not None:
            env["BPLAB_SETTINGS_FILE"] = str(settings_file)
        self.service = start_service(self.component, self.port, self.log_dir, env)

    def stop_process(self) -> None:
        if self.service is not None:
            stop(self.service)
            self.service = None

    def set_status(self, *, ready: bool, last_termination: dict[str, Any] | None = None, **state: Any) -> None:
        """Write what a kubelet would: podIP, the Ready condition and the container's status."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        container: dict[str, Any] = {
            "name": self.component,
            "image": "backpressure-lab:test",
            "imageID": "",
            "ready": ready,
            "restartCount": self.restarts,
            "started": ready,
            "state": state
            or ({"running": {"startedAt": now}} if ready else {"waiting": {"reason": "ContainerCreating"}}),
        }
        if last_termination is not None:
            container["lastState"] = {"terminated": last_termination}
        status = {
            "phase": "Running",
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "True" if ready else "False", "lastTransitionTime": now},
            ],
            "containerStatuses": [container],
        }
        self.core.patch_namespaced_pod_status(self.name, self.namespace, {"status": status})

    def config(self) -> dict[str, Any]:
        assert self.service is not None
        return cast(dict[str, Any], self.service.get("/admin/config")["config"])


class HoldingProxy:
    """An HTTP proxy in front of one service that holds the first `POST /admin/config` until `release()`: it makes
    "the operator's push is still in flight" a state a test can stand in, instead of a race it hopes to lose."""

    def __init__(self, backend_port: int) -> None:
        self.backend_port = backend_port
        self.holding = threading.Event()
        """Set once the first POST /admin/config has arrived and is being held."""
        self.held_done = threading.Event()
        """Set once the held request was forwarded and answered."""
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.held_at = 0.0
        """When the held request arrived (monotonic)."""
        self.posts: list[dict[str, Any]] = []
        """Every POST /admin/config body, in arrival order (the held one first)."""
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                held = False
                if self.path == "/admin/config":
                    with proxy._lock:
                        proxy.posts.append(json.loads(body or b"{}"))
                        held = len(proxy.posts) == 1
                if held:
                    proxy.held_at = time.monotonic()
                    proxy.holding.set()
                    proxy._release.wait(30)
                try:
                    self._forward(body)
                finally:
                    if held:
                        proxy.held_done.set()

            def do_PUT(self) -> None:
                self._forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _forward(self, body: bytes) -> None:
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.backend_port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                reply = upstream.getresponse()
                payload = reply.read()
                upstream.close()
                self.send_response(reply.status)
                for name, value in reply.getheaders():
                    if name.lower() not in {"content-length", "connection", "transfer-encoding", "date", "server"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


# --- The operator process ------------------------------------------------------------------------------------------


@dataclass
class OperatorProcess:
    kubeconfig: Path
    namespace: str
    log_dir: Path
    drift_check_seconds: float = 1.0
    proc: ManagedProcess | None = None
    liveness_port: int = 0
    starts: int = 0

    def start(self) -> None:
        self.liveness_port = free_port()
        self.starts += 1
        env = {
            "PYTHONPATH": str(REPO),
            "KUBECONFIG": str(self.kubeconfig),
            "POD_NAMESPACE": self.namespace,
            "BPLAB_RELEASE": RELEASE,
            "BPLAB_SETTINGS_CONFIGMAP": SETTINGS_CONFIGMAP,
            "BPLAB_CONSUMER_DEPLOYMENT": CONSUMER_DEPLOYMENT,
            "BPLAB_ADMIN_TOKEN": ADMIN_TOKEN,
            "BPLAB_DRIFT_CHECK_SECONDS": str(self.drift_check_seconds),
            "BPLAB_LIVENESS_ENDPOINT": f"http://127.0.0.1:{self.liveness_port}/healthz",
        }
        # `env` execs the operator in place (same pid, same process group): ManagedProcess stops it as usual.
        command = [
            "env",
            *(f"{key}={value}" for key, value in env.items()),
            sys.executable,
            "-m",
            "backpressure_lab.operator",
        ]
        self.proc = ManagedProcess("operator", command, self.log_dir / f"operator-{self.starts}.log")
        self.proc.start()
        wait_for(self._live, 30, f"operator liveness (log {self.proc.log_path}):\n{self.proc.tail(20)}")

    def _live(self) -> bool:
        assert self.proc is not None
        if not self.proc.alive():
            raise AssertionError(f"operator exited:\n{self.proc.tail(40)}")
        try:
            url = f"http://127.0.0.1:{self.liveness_port}/healthz"
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def health(self) -> dict[str, Any]:
        """kopf's liveness endpoint: the probes' results, our `loops` heartbeat among them (kopf caches them 10 s)."""
        url = f"http://127.0.0.1:{self.liveness_port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            return cast(dict[str, Any], json.load(response))

    def wait_for_round(self, loop: str, *, started_after: str, timeout: float = 30) -> None:
        """Until `loop` ("drift-check" or "autoscaler") has finished a round that began after `started_after`
        (`moment()`): the observable for "the operator looked again", where a sleep would pass a stalled operator."""

        def finished() -> bool:
            began = self.health()["loops"][loop]["lastRoundStartedAt"]
            return bool(began and began > started_after)

        wait_for(finished, timeout, f"a {loop} round that began after {started_after}", interval=0.5)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(grace=15)

    def log(self) -> str:
        return self.proc.log_path.read_text(errors="replace") if self.proc else ""

    def rss_bytes(self) -> int:
        return self.proc.rss_bytes() if self.proc else 0


# --- The release as the operator sees it ---------------------------------------------------------------------------


@dataclass
class OperatorLab:
    plane: ControlPlane
    api: client.ApiClient
    namespace: str
    operator: OperatorProcess
    pods: list[LoopbackPodStandIn] = field(default_factory=list)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def pod(self, component: str) -> LoopbackPodStandIn:
        return next(p for p in self.pods if p.component == component)

    def kubectl_apply(self, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """`kubectl apply -f -` as the admin (a learner); returns the finished process (check returncode)."""
        return subprocess.run(
            [str(self.plane.binaries.kubectl), f"--kubeconfig={self.plane.admin_kubeconfig}", "-n", self.namespace,
             "apply", "-f", "-"],
            input=yaml.safe_dump(document), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def config(self, name: str) -> dict[str, Any]:
        return cast(
            dict[str, Any], self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
        )

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        for cond in (self.config(name).get("status") or {}).get("conditions") or []:
            if cond.get("type") == kind:
                return cast(dict[str, Any], cond)
        return None

    def events(self, name: str, reason: str | None = None) -> list[client.CoreV1Event]:
        selector = f"involvedObject.name={name},involvedObject.kind=BackpressureConfig"
        items = self.core.list_namespaced_event(self.namespace, field_selector=selector).items
        return [e for e in items if reason is None or e.reason == reason]

    def settings_file(self) -> str:
        configmap = self.core.read_namespaced_config_map(SETTINGS_CONFIGMAP, self.namespace)
        return str((configmap.data or {})["settings.yaml"])

    def applied(self, name: str, generation: int | None = None) -> bool:
        body = self.config(name)
        status = body.get("status") or {}
        wanted = generation if generation is not None else body["metadata"]["generation"]
        cond = next((c for c in status.get("conditions") or [] if c.get("type") == "Applied"), None)
        return bool(status.get("observedGeneration") == wanted and cond and cond["status"] == "True")


def bpc(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "BackpressureConfig", "metadata": {"name": name}, "spec": spec}


def install_operator_rbac(plane: ControlPlane, namespace: str, log_dir: Path) -> None:
    """The ServiceAccount, Role and RoleBinding exactly as `helm template` renders them."""
    manifest = log_dir / "operator-rbac.yaml"
    manifest.write_text(helm_template(namespace, *OPERATOR_TEMPLATES))
    plane.kubectl("-n", namespace, "apply", "-f", str(manifest))
