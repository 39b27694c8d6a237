"""A real Kubernetes control plane on loopback for tests: etcd + kube-apiserver (+ kube-controller-manager).

No pytest in here, so any tier (and bench/controlplane_startup.py) can import it. The shape follows
controller-runtime's envtest: etcd and kube-apiserver on free loopback ports, a generated CA with serving and client
certificates, service-account signing keys, an admin kubeconfig; plus what envtest leaves out: RBAC with the Node
authorizer, the usual admission plugins, and an optional kube-controller-manager (garbage collection, namespace
deletion, ReplicaSets creating Pods, ServiceAccount tokens).

Binaries come from the cache that `make tools` (tools/build-tools.sh) fills, keyed by the versions in versions.env.

Process hygiene: every component runs in its own process group (`start_new_session`) with PR_SET_PDEATHSIG=SIGKILL,
so it dies with the test run even when pytest is SIGKILLed; `stop()` kills the group by the PID this module started;
an atexit hook and a SIGTERM/SIGHUP handler stop whatever is still running.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubernetes import client as k8s_client

from tests.ports import free_port, free_ports
from tests.waiting import poll

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO_ROOT / "versions.env"
LOOPBACK = "127.0.0.1"
# ClusterIP range handed to the apiserver: only ever an allocation pool in etcd, never a traffic target.
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class ControlPlaneError(RuntimeError):
    """A component failed to start or to become ready; the message names its log file."""


class ToolsMissingError(ControlPlaneError):
    """A binary is not in the tool cache (nor on PATH at the pinned version)."""


# --- versions.env and the tool cache ------------------------------------------------------------------------------

_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """Parse versions.env: plain KEY=value lines, '#' comments (the file is both shell- and make-readable)."""
    versions: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            versions[match.group(1)] = match.group(2).strip()
    return versions


def cache_root() -> Path:
    env = os.environ.get("BPLAB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "backpressure-lab"


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    kubernetes_version: str
    etcd_version: str


def _on_path_with_version(name: str, expected: str, version_args: Sequence[str]) -> Path | None:
    found = shutil.which(name)
    if found is None:
        return None
    try:
        out = subprocess.run([found, *version_args], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(found) if expected in out.split() else None


def find_binaries(versions: dict[str, str] | None = None) -> Binaries:
    """Locate the pinned binaries: the version-keyed cache first, then PATH at exactly the pinned version."""
    versions = versions if versions is not None else read_versions()
    k8s, etcd = versions["KUBERNETES_VERSION"], versions["ETCD_VERSION"]
    k8s_dir = cache_root() / f"kubernetes-{k8s}" / "bin"
    etcd_dir = cache_root() / f"etcd-{etcd}" / "bin"
    wanted: dict[str, tuple[Path, str, list[str]]] = {
        "etcd": (etcd_dir, etcd.removeprefix("v"), ["--version"]),
        "kube-apiserver": (k8s_dir, k8s, ["--version"]),
        "kube-controller-manager": (k8s_dir, k8s, ["--version"]),
        "kubectl": (k8s_dir, k8s, ["version", "--client"]),
    }
    paths: dict[str, Path] = {}
    missing: list[str] = []
    for name, (directory, expected, args) in wanted.items():
        candidate = directory / name
        if os.access(candidate, os.X_OK):
            paths[name] = candidate
        elif (on_path := _on_path_with_version(name, expected, args)) is not None:
            paths[name] = on_path
        else:
            missing.append(f"{name} {expected}")
    if missing:
        raise ToolsMissingError(f"not built: {', '.join(missing)} (cache {cache_root()})")
    return Binaries(
        etcd=paths["etcd"],
        kube_apiserver=paths["kube-apiserver"],
        kube_controller_manager=paths["kube-controller-manager"],
        kubectl=paths["kubectl"],
        kubernetes_version=k8s,
        etcd_version=etcd,
    )


# --- Ports and certificates ---------------------------------------------------------------------------------------


def port_is_listening(port: int) -> bool:
    """Whether something accepts connections on loopback:`port` (a TIME_WAIT left by a closed connection is not)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ControlPlaneError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


@dataclass(frozen=True)
class LeafCert:
    """One more certificate `Pki.generate` signs: `<name>.crt`/`<name>.key`, e.g. a node's kubelet or kube-proxy."""

    name: str
    subject: str  # e.g. "/O=system:nodes/CN=system:node:bplab-node"
    usage: str  # extendedKeyUsage: clientAuth or serverAuth
    san: str | None = None  # subjectAltName, e.g. "IP:10.200.0.1,DNS:localhost"
    ca: str = "ca"  # the signing CA's file stem: "ca" or "front-proxy-ca"


@dataclass(frozen=True)
class Pki:
    """Certificates and keys for one control plane, made with the openssl CLI (ECDSA P-256: fast to generate).

    The defaults are the test control plane's; the single node (tools/node/node.py) adds SANs to the apiserver's
    serving certificate (its node address, the `kubernetes` Service IP) and its own leaves (kubelet, scheduler, ...).
    """

    directory: Path
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    controller_manager_cert: Path
    controller_manager_key: Path
    service_account_key: Path
    service_account_pub: Path
    front_proxy_ca_cert: Path
    front_proxy_client_cert: Path
    front_proxy_client_key: Path

    def leaf(self, name: str) -> tuple[Path, Path]:
        """(certificate, key) of a leaf by its name, e.g. one of `generate`'s `extra_leaves`."""
        return self.directory / f"{name}.crt", self.directory / f"{name}.key"

    @classmethod
    def generate(
        cls,
        directory: Path,
        *,
        apiserver_sans: Sequence[str] = (),
        extra_leaves: Sequence[LeafCert] = (),
        days: int = 7,
        ca_name: str = "backpressure-lab-test-ca",
    ) -> Pki:
        if shutil.which("openssl") is None:
            raise ToolsMissingError("openssl not found on PATH (apt-get install openssl)")
        directory.mkdir(parents=True, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        d = directory
        _openssl(
            "req", "-x509", *ec, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"), "-days", str(days),
            "-subj", f"/CN={ca_name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

        # The aggregation layer's own CA (kubeadm's front-proxy-ca): the apiserver proxies to aggregated APIs
        # (e.g. metrics-server) with a client cert from it, and publishes it in extension-apiserver-authentication.
        _openssl(
            "req", "-x509", *ec, "-keyout", str(d / "front-proxy-ca.key"), "-out", str(d / "front-proxy-ca.crt"),
            "-days", str(days), "-subj", "/CN=backpressure-lab-front-proxy-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

        def leaf(name: str, subject: str, usage: str, san: str | None = None, ca: str = "ca") -> None:
            extra = ["-addext", f"subjectAltName={san}"] if san else []
            _openssl(
                "req", "-x509", *ec, "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.crt"),
                "-CA", str(d / f"{ca}.crt"), "-CAkey", str(d / f"{ca}.key"), "-days", str(days), "-subj", subject,
                "-addext", "basicConstraints=critical,CA:FALSE",
                "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
                "-addext", f"extendedKeyUsage={usage}", *extra,
            )  # fmt: skip

        leaf(
            "apiserver",
            "/CN=kube-apiserver",
            "serverAuth",
            ",".join([
                f"IP:{LOOPBACK}", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc", *apiserver_sans,
            ]),
        )  # fmt: skip
        # The admin is in system:masters: cluster-admin whatever RBAC says (as kubeadm's admin.conf was).
        leaf("admin", "/O=system:masters/CN=backpressure-lab-admin", "clientAuth")
        # The identity the bootstrap RBAC policy grants kube-controller-manager.
        leaf("controller-manager", "/CN=system:kube-controller-manager", "clientAuth")
        leaf("front-proxy-client", "/CN=front-proxy-client", "clientAuth", ca="front-proxy-ca")
        for extra in extra_leaves:
            leaf(extra.name, extra.subject, extra.usage, extra.san, ca=extra.ca)
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", str(d / "sa.key"))
        _openssl("pkey", "-in", str(d / "sa.key"), "-pubout", "-out", str(d / "sa.pub"))
        for key in d.glob("*.key"):
            key.chmod(0o600)
        return cls(
            directory=d,
            ca_cert=d / "ca.crt", ca_key=d / "ca.key",
            serving_cert=d / "apiserver.crt", serving_key=d / "apiserver.key",
            admin_cert=d / "admin.crt", admin_key=d / "admin.key",
            controller_manager_cert=d / "controller-manager.crt", controller_manager_key=d / "controller-manager.key",
            service_account_key=d / "sa.key", service_account_pub=d / "sa.pub",
            front_proxy_ca_cert=d / "front-proxy-ca.crt",
            front_proxy_client_cert=d / "front-proxy-client.crt", front_proxy_client_key=d / "front-proxy-client.key",
        )  # fmt: skip


def write_kubeconfig(
    path: Path,
    server: str,
    ca_cert: Path,
    user: str,
    *,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    token: str | None = None,
    namespace: str = "default",
    context: str | None = None,
) -> Path:
    """Write a one-cluster, one-user kubeconfig (JSON is valid YAML) and return its path. The context is named
    `context`, or after the user."""
    credentials: dict[str, str] = {}
    if client_cert is not None and client_key is not None:
        credentials = {"client-certificate": str(client_cert), "client-key": str(client_key)}
    if token is not None:
        credentials["token"] = token
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "bplab", "cluster": {"server": server, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": context or user, "context": {"cluster": "bplab", "user": user, "namespace": namespace}}],
        "current-context": context or user,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path


# --- Processes ----------------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it when the process that started it dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_RUNNING: dict[int, ManagedProcess] = {}
_RUNNING_LOCK = threading.Lock()
_HANDLERS_INSTALLED = False


@dataclass
class ManagedProcess:
    """One component: a process group this module started, its log file, and how to stop it."""

    name: str
    args: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} not started"
        return self.popen.pid

    def start(self) -> None:
        _install_exit_handlers()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} start: {' '.join(self.args)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (PDEATHSIG is set in the child; forks from one thread)
            )
        self.started_at = time.monotonic()
        with _RUNNING_LOCK:
            _RUNNING[self.popen.pid] = self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group we created (pgid == our child's pid), SIGKILL after `grace` seconds."""
        popen = self.popen
        if popen is None:
            return
        try:
            if popen.poll() is None:
                _signal_group(popen.pid, signal.SIGTERM)
                try:
                    popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(popen.pid, signal.SIGKILL)
                    popen.wait(timeout=10)
            # Children the component may have left in its group (none expected) go too.
            _signal_group(popen.pid, signal.SIGKILL)
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(popen.pid, None)

    def rss_bytes(self) -> int:
        """Resident memory of the process (VmRSS), 0 when gone."""
        if not self.alive():
            return 0
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
        return int(match.group(1)) * 1024 if match else 0

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"({self.log_path} unreadable)"
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_all() -> None:
    """Stop every process this module started and that is still registered (newest first)."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING.values())
    for proc in reversed(procs):
        with contextlib.suppress(Exception):
            proc.stop(grace=5.0)


def _install_exit_handlers() -> None:
    """atexit + SIGTERM/SIGHUP: stop our processes, then let the signal do what it did before (main thread only)."""
    global _HANDLERS_INSTALLED  # noqa: PLW0603 (one-time process-wide installation)
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)

        def handler(num: int, frame: FrameType | None, previous: Any = previous) -> None:
            stop_all()
            if callable(previous):
                previous(num, frame)
            elif previous == signal.SIG_IGN:
                return
            else:
                # Unwind like Ctrl-C, so pytest still tears fixtures down and reports; processes are already gone.
                raise KeyboardInterrupt(f"signal {num}")

        signal.signal(signum, handler)


def running_processes() -> list[ManagedProcess]:
    with _RUNNING_LOCK:
        return list(_RUNNING.values())


# --- Readiness ----------------------------------------------------------------------------------------------------


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, proc: ManagedProcess | None = None, interval: float = 0.05
) -> float:
    """Poll `check` until true (an exception means "not yet"); fail early if `proc` dies. Returns the seconds waited."""

    def alive() -> None:
        if proc is not None and not proc.alive():
            code = proc.popen.returncode if proc.popen else None
            raise ControlPlaneError(f"{proc.name} exited ({code}) before {what}; log {proc.log_path}:\n{proc.tail(30)}")

    polled = poll(check, timeout=timeout, interval=interval, not_yet=(Exception,), alive=alive)
    if not polled.done:
        tail = f"; log {proc.log_path}:\n{proc.tail(30)}" if proc else ""
        raise ControlPlaneError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")
    return polled.seconds


def _https_get(url: str, context: ssl.SSLContext, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


# --- The control plane --------------------------------------------------------------------------------------------


@dataclass
class ControlPlane:
    """etcd + kube-apiserver on loopback; `start_controller_manager()` adds kube-controller-manager."""

    workdir: Path
    binaries: Binaries
    start_timeout: float = 60.0
    verbosity: int = 1
    pki: Pki | None = None
    etcd: ManagedProcess | None = None
    apiserver: ManagedProcess | None = None
    controller_manager: ManagedProcess | None = None
    etcd_port: int = 0
    apiserver_port: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://{LOOPBACK}:{self.apiserver_port}"

    @property
    def logs_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    def processes(self) -> list[ManagedProcess]:
        return [p for p in (self.etcd, self.apiserver, self.controller_manager) if p is not None]

    # --- start ---

    def start(self) -> ControlPlane:
        """PKI, etcd, kube-apiserver; returns when /readyz is ok and the admin kubeconfig works."""
        t0 = time.monotonic()
        try:
            self.pki = Pki.generate(self.workdir / "pki")
            self.timings["pki"] = time.monotonic() - t0
            self._start_etcd()
            self.timings["etcd_ready"] = time.monotonic() - t0
            self._start_apiserver()
            self.timings["apiserver_ready"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def _start_with_retry(self, make: Callable[[], ManagedProcess], ready: Callable[[ManagedProcess], None]) -> None:
        """Start, and once more with fresh ports if the first try lost a port race (bind: address already in use)."""
        for attempt in range(3):
            proc = make()
            proc.start()
            try:
                ready(proc)
                return
            except ControlPlaneError:
                in_use = "address already in use" in proc.tail(200)
                proc.stop()
                if not in_use or attempt == 2:
                    raise

    def _start_etcd(self) -> None:
        def make() -> ManagedProcess:
            self.etcd_port, peer = free_ports(2)
            data = self.workdir / "etcd-data"
            shutil.rmtree(data, ignore_errors=True)
            client_url, peer_url = f"http://{LOOPBACK}:{self.etcd_port}", f"http://{LOOPBACK}:{peer}"
            self.etcd = ManagedProcess("etcd", [
                str(self.binaries.etcd),
                "--name=bplab", f"--data-dir={data}",
                f"--listen-client-urls={client_url}", f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=bplab={peer_url}", "--initial-cluster-state=new",
                # Test data is thrown away: skip fsync (etcd 3.6), as envtest does.
                "--unsafe-no-fsync", "--quota-backend-bytes=2147483648", "--log-level=warn",
            ], self.logs_dir / "etcd.log")  # fmt: skip
            return self.etcd

        def ready(proc: ManagedProcess) -> None:
            url = f"http://{LOOPBACK}:{self.etcd_port}/health"

            def healthy() -> bool:
                with urllib.request.urlopen(url, timeout=1) as response:
                    return bool(json.loads(response.read()).get("health") == "true")

            wait_until(healthy, timeout=self.start_timeout, what="etcd /health", proc=proc)

        self._start_with_retry(make, ready)

    def _admin_context(self) -> ssl.SSLContext:
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def _start_apiserver(self) -> None:
        assert self.pki is not None
        pki = self.pki

        def make() -> ManagedProcess:
            self.apiserver_port = free_port()
            self.apiserver = ManagedProcess("kube-apiserver", [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://{LOOPBACK}:{self.etcd_port}",
                f"--bind-address={LOOPBACK}", f"--advertise-address={LOOPBACK}",
                f"--secure-port={self.apiserver_port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=Node,RBAC",
                # On top of the default set (NamespaceLifecycle, LimitRanger, ServiceAccount, PodSecurity,
                # ResourceQuota, the admission webhooks and policies, ...): what kubeadm adds.
                "--enable-admission-plugins=NodeRestriction",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                # Aggregation layer (as kubeadm sets it up); without it every component that delegates
                # authentication logs "missing content for CA bundle ... requestheader-client-ca-file" forever.
                f"--requestheader-client-ca-file={pki.front_proxy_ca_cert}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki.front_proxy_client_cert}",
                f"--proxy-client-key-file={pki.front_proxy_client_key}",
                # Kubernetes 1.37 refuses a loopback advertise address for the `default/kubernetes` endpoints;
                # nothing in-cluster dials it here (no kubelet, no pods), so that reconciler is off.
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                f"--v={self.verbosity}",
            ], self.logs_dir / "kube-apiserver.log")  # fmt: skip
            return self.apiserver

        def ready(proc: ManagedProcess) -> None:
            context = self._admin_context()

            def readyz() -> bool:
                return _https_get(f"{self.server}/readyz", context)[0] == 200

            wait_until(readyz, timeout=self.start_timeout, what="kube-apiserver /readyz", proc=proc)

        self._start_with_retry(make, ready)
        write_kubeconfig(
            self.admin_kubeconfig, self.server, pki.ca_cert, "admin",
            client_cert=pki.admin_cert, client_key=pki.admin_key,
        )  # fmt: skip

    def start_controller_manager(self) -> ManagedProcess:
        """kube-controller-manager with every default controller, its own RBAC identity and per-controller SAs."""
        if self.controller_manager is not None and self.controller_manager.alive():
            return self.controller_manager
        assert self.pki is not None
        pki = self.pki
        t0 = time.monotonic()
        kubeconfig = write_kubeconfig(
            self.workdir / "controller-manager.kubeconfig", self.server, pki.ca_cert, "system:kube-controller-manager",
            client_cert=pki.controller_manager_cert, client_key=pki.controller_manager_key,
        )  # fmt: skip
        port_holder: dict[str, int] = {}

        def make() -> ManagedProcess:
            port_holder["port"] = free_port()
            self.controller_manager = ManagedProcess("kube-controller-manager", [
                str(self.binaries.kube_controller_manager),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
                f"--bind-address={LOOPBACK}", f"--secure-port={port_holder['port']}",
                f"--cert-dir={self.workdir / 'controller-manager-certs'}",
                "--leader-elect=false",
                # Each controller acts as its own ServiceAccount in kube-system, as in a kubeadm cluster.
                "--use-service-account-credentials=true",
                # ServiceAccount token controller: signs legacy token Secrets and publishes the root CA
                # (kube-root-ca.crt ConfigMaps); CSR signing uses the same CA.
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca_cert}",
                f"--cluster-signing-cert-file={pki.ca_cert}", f"--cluster-signing-key-file={pki.ca_key}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                "--controllers=*",
                "--profiling=false",
                f"--v={self.verbosity}",
            ], self.logs_dir / "kube-controller-manager.log")  # fmt: skip
            return self.controller_manager

        def ready(proc: ManagedProcess) -> None:
            insecure = ssl.create_default_context()
            insecure.check_hostname = False
            insecure.verify_mode = ssl.CERT_NONE  # its self-signed serving cert; /healthz only, on loopback
            url = f"https://{LOOPBACK}:{port_holder['port']}/healthz"
            wait_until(lambda: _https_get(url, insecure)[0] == 200, timeout=self.start_timeout,
                       what="kube-controller-manager /healthz", proc=proc)  # fmt: skip
            # The controllers really work once the ServiceAccount controller has made `default` in `default`.
            admin = self._admin_context()
            sa_url = f"{self.server}/api/v1/namespaces/default/serviceaccounts/default"
            wait_until(lambda: _https_get(sa_url, admin)[0] == 200, timeout=self.start_timeout,
                       what="ServiceAccount default/default (controllers running)", proc=proc)  # fmt: skip

        self._start_with_retry(make, ready)
        self.timings["controller_manager_ready"] = time.monotonic() - t0
        assert self.controller_manager is not None
        return self.controller_manager

    def stop_controller_manager(self) -> None:
        if self.controller_manager is not None:
            self.controller_manager.stop()

    def stop(self) -> None:
        """Stop kube-controller-manager, kube-apiserver, etcd (in that order); no process or port is left."""
        for proc in (self.controller_manager, self.apiserver, self.etcd):
            if proc is not None:
                proc.stop()
        # etcd preallocates 64 MiB of WAL: drop the data once etcd is gone; logs, PKI and kubeconfigs stay.
        if self.etcd is not None and not self.etcd.alive():
            shutil.rmtree(self.workdir / "etcd-data", ignore_errors=True)

    # --- helpers for tests ---

    def kubectl(self, *args: str, kubeconfig: Path | None = None, timeout: float = 60) -> str:
        """Run the pinned kubectl against this control plane; returns stdout, raises on a non-zero exit."""
        result = subprocess.run(
            [str(self.binaries.kubectl), f"--kubeconfig={kubeconfig or self.admin_kubeconfig}", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result.stdout

    def request_token(self, namespace: str, service_account: str, expiration_seconds: int = 3600) -> str:
        """A bound token for `namespace/service_account` from the TokenRequest API (as admin)."""
        body = json.dumps({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": expiration_seconds},
        }).encode()  # fmt: skip
        url = f"{self.server}/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token"
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self._admin_context(), timeout=10) as response:
            token: str = json.loads(response.read())["status"]["token"]
        return token

    def kubeconfig_for_service_account(
        self, namespace: str, service_account: str, path: Path | None = None, expiration_seconds: int = 3600
    ) -> Path:
        """A kubeconfig that acts as exactly `namespace/service_account` (its RBAC, nothing more)."""
        assert self.pki is not None
        token = self.request_token(namespace, service_account, expiration_seconds)
        path = path or self.workdir / "kubeconfigs" / f"{namespace}.{service_account}.kubeconfig"
        user = f"system:serviceaccount:{namespace}:{service_account}"
        return write_kubeconfig(path, self.server, self.pki.ca_cert, user, token=token, namespace=namespace)

    def rss_bytes(self) -> dict[str, int]:
        return {p.name: p.rss_bytes() for p in self.processes() if p.alive()}

    def log_tails(self, lines: int = 40) -> Iterator[tuple[str, str]]:
        for proc in self.processes():
            yield f"{proc.name} ({proc.log_path})", proc.tail(lines)


@contextlib.contextmanager
def api_client_for(kubeconfig: Path) -> Iterator[k8s_client.ApiClient]:
    """A kubernetes.client.ApiClient acting as whoever `kubeconfig` names, closed on exit."""
    from kubernetes import client, config  # noqa: PLC0415 (only tests need the client; bench does not)

    api: client.ApiClient = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def running_control_plane(
    workdir: Path, *, controller_manager: bool = False, binaries: Binaries | None = None
) -> Iterator[ControlPlane]:
    """Context manager: a started control plane, stopped on exit whatever happens."""
    plane = ControlPlane(workdir=workdir, binaries=binaries or find_binaries())
    try:
        plane.start()
        if controller_manager:
            plane.start_controller_manager()
        yield plane
    finally:
        plane.stop()
