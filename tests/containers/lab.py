"""Drive the lab's image with the Docker CLI and its services over HTTP: shared by tests/containers and bench/oom.py.

Only the standard library: the containers tier must run before anything else is installed, and the bench reuses it.
Every Docker call goes through `Docker.cli(...)`, with the daemon chosen once (`DOCKER_HOST`), so a test never talks to
a daemon it did not choose.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.waiting import poll

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "docker"
IMAGE = os.environ.get("BPLAB_IMAGE", "backpressure-lab:test")
# The CA bundle handed to pip inside the build as a BuildKit secret (see the Dockerfile); the system bundle is harmless
# where TLS is not intercepted, and required where it is.
CA_BUNDLES = (os.environ.get("PIP_CERT", ""), os.environ.get("SSL_CERT_FILE", ""), "/etc/ssl/certs/ca-certificates.crt")
MIB = 1024 * 1024

Json = dict[str, Any]


class DockerError(RuntimeError):
    pass


def base_image_name() -> str:
    """The `ARG BASE_IMAGE=...` default of the project's Dockerfile: the one place the base is named."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.split("=", 1)[1].strip()
    raise DockerError("the Dockerfile has no 'ARG BASE_IMAGE=' line")


def _client_major(cli: str) -> int:
    out = subprocess.run(
        [cli, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True, check=False
    )
    try:
        return int(out.stdout.strip().split(".")[0])
    except ValueError:
        return 0


def build_cli_candidates() -> list[str]:
    found = [os.environ.get("BPLAB_DOCKER", ""), shutil.which("docker") or "", "/usr/bin/docker"]
    return list(dict.fromkeys(c for c in found if c and os.access(c, os.X_OK)))


def pick_cli() -> str | None:
    """A docker CLI that can run a BuildKit build: one with the buildx plugin, or a 20.10 client (built-in BuildKit).

    A newer client without buildx (e.g. a static docker 28 on PATH) cannot: it falls back to the legacy builder, which
    does not know `RUN --mount=type=secret`. Debian's docker.io (20.10) ships /usr/bin/docker, which can.
    """
    candidates = build_cli_candidates()
    for cli in candidates:
        has_buildx = subprocess.run([cli, "buildx", "version"], capture_output=True, check=False).returncode == 0
        if has_buildx or 0 < _client_major(cli) < 23:
            return cli
    return None


@dataclass
class Docker:
    """One docker CLI bound to one daemon."""

    binary: str
    host: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "1"}

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120, capture: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.binary, *args], env=self.env(), capture_output=capture, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise DockerError(
                f"docker {' '.join(args)} exited {proc.returncode}: {(proc.stderr or '').strip()[-2000:]}"
            )
        return proc

    def ping(self) -> bool:
        try:
            return self.cli("version", "--format", "{{.Server.Version}}", check=False, timeout=15).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def image_exists(self, image: str) -> bool:
        return self.cli("image", "inspect", image, check=False).returncode == 0

    def image_size(self, image: str) -> int:
        return int(self.cli("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())

    def inspect(self, container: str) -> Json:
        data = json.loads(self.cli("inspect", container).stdout)
        return dict(data[0])

    def host_port(self, container: str, port: int) -> int:
        out = self.cli("port", container, f"{port}/tcp").stdout.strip().splitlines()
        return int(out[0].rsplit(":", 1)[1])

    def logs(self, container: str, tail: int = 200) -> str:
        proc = self.cli("logs", "--tail", str(tail), "--timestamps", container, check=False)
        return (proc.stdout or "") + (proc.stderr or "")

    def events(self, container_id: str, since: float, until: float | None = None) -> list[Json]:
        """Past events of one container (`docker events` with --until returns instead of streaming)."""
        end = time.time() if until is None else until
        out = self.cli(
            "events",
            "--since",
            f"{since:.3f}",
            "--until",
            f"{end:.3f}",
            "--filter",
            f"container={container_id}",
            "--format",
            "{{json .}}",
        ).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def remove(self, *containers: str) -> None:
        for name in containers:
            self.cli("rm", "-f", "-v", name, check=False)


def start_daemon(env: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """Return (DOCKER_HOST, started_by_us). Reuses a reachable daemon; else tools/docker/start-dockerd.sh starts one.
    `env`: the script's settings (BPLAB_DOCKER_*) for a daemon other than the tier's."""
    env = os.environ if env is None else env
    pidfile = Path(env.get("BPLAB_DOCKER_PIDFILE", "/run/bplab-docker.pid"))
    was_running = daemon_running(pidfile)
    proc = subprocess.run(
        ["bash", str(TOOLS / "start-dockerd.sh")], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise DockerError(f"start-dockerd.sh failed: {proc.stderr.strip()[-2000:]}")
    host = proc.stdout.strip().splitlines()[-1]
    started = (
        not was_running
        and daemon_running(pidfile)
        and host.endswith(env.get("BPLAB_DOCKER_SOCK", "/run/bplab-docker.sock"))
    )
    return host, started


def stop_daemon(env: Mapping[str, str] | None = None) -> None:
    subprocess.run(["bash", str(TOOLS / "stop-dockerd.sh")], env=env, capture_output=True, timeout=120, check=False)


def daemon_running(pidfile: Path) -> bool:
    """Whether `pidfile` names a dockerd that runs: a pidfile can outlive its daemon (a kill, a restored machine)."""
    try:
        return running(int(pidfile.read_text().strip()), "dockerd")
    except (OSError, ValueError):
        return False


def running(pid: int, command: str) -> bool:
    """Whether `pid` runs `command` (its comm) and has not ended: a zombie, killed and not yet reaped by its parent,
    has. The test tools/lib/pidfile.sh makes of a pidfile."""
    found = process_state(pid)
    return found is not None and found[0] == command and found[1] != "Z"


def process_state(pid: int) -> tuple[str, str] | None:
    """`pid`'s comm and state letter (Z for a zombie) from /proc, or None when no such process exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm, _, rest = stat.partition("(")[2].rpartition(")")
    return comm, rest.split()[0]


def ensure_base_image(docker: Docker) -> str:
    image = base_image_name()
    if not docker.image_exists(image):
        proc = subprocess.run(
            ["bash", str(TOOLS / "base-image.sh"), image],
            env={**docker.env(), "DOCKER": docker.binary},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            raise DockerError(f"base-image.sh failed: {proc.stderr.strip()[-2000:]}")
    return image


@dataclass
class BuildResult:
    image: str
    seconds: float
    size_bytes: int
    log: str = field(repr=False)


def build_image(docker: Docker, image: str = IMAGE, *, no_cache: bool = False, timeout: float = 900) -> BuildResult:
    args = ["build", "--progress=plain", "-t", image]
    ca = next((c for c in CA_BUNDLES if c and Path(c).is_file()), None)
    if ca is not None:
        args += ["--secret", f"id=pip_ca,src={ca}"]
    if no_cache:
        args.append("--no-cache")
    start = time.monotonic()
    proc = docker.cli(*args, str(ROOT), check=False, timeout=timeout)
    seconds = time.monotonic() - start
    log = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        raise DockerError(f"docker build failed ({proc.returncode}):\n{log[-4000:]}")
    return BuildResult(image, seconds, docker.image_size(image), log)


# ---------------------------------------------------------------------------------------------------------------- HTTP


def http(method: str, url: str, body: Mapping[str, Any] | None = None, timeout: float = 5.0) -> Json:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    token = os.environ.get("BPLAB_ADMIN_TOKEN")
    if token and "/admin/" in url:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    parsed = json.loads(raw) if raw.strip() else {}
    return dict(parsed) if isinstance(parsed, dict) else {"value": parsed}


def get(url: str, timeout: float = 5.0) -> Json:
    return http("GET", url, timeout=timeout)


def post(url: str, body: Mapping[str, Any] | None = None, timeout: float = 5.0) -> Json:
    return http("POST", url, body or {}, timeout=timeout)


def wait_http(url: str, timeout: float = 60.0) -> float:
    """Poll `url` until it answers 2xx; return the seconds it took. Raises TimeoutError."""
    errors: list[Exception] = []

    def answers() -> bool:
        try:
            get(url, timeout=2.0)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, json.JSONDecodeError) as exc:
            errors.append(exc)
            return False
        return True

    waited = poll(answers, timeout=timeout, interval=0.1)
    if not waited.done:
        raise TimeoutError(f"{url} did not answer within {timeout:.0f} s (last error: {errors[-1:]})")
    return waited.seconds


# ------------------------------------------------------------------------------------------------------------ the lab


@dataclass
class Lab:
    """A producer and a consumer container on their own user-defined network."""

    docker: Docker
    image: str
    suffix: str
    network: str
    producer: str
    consumer: str
    producer_url: str = ""
    consumer_url: str = ""
    started_at: float = 0.0

    def status(self) -> Json:
        return get(f"{self.producer_url}/status")

    def dump_logs(self, stream: Any = None) -> None:
        out = stream or sys.stderr
        for name in (self.producer, self.consumer):
            print(f"----- docker logs {name} (last 200 lines) -----", file=out)
            print(self.docker.logs(name), file=out)
            state = self.docker.cli(
                "inspect", "--format", "{{json .State}} restarts={{.RestartCount}}", name, check=False
            )
            print(f"----- state: {state.stdout.strip()} -----", file=out)


def write_settings(path: Path, producer: Mapping[str, Any], consumer: Mapping[str, Any] | None = None) -> Path:
    path.write_text(json.dumps({"producer": dict(producer), "consumer": dict(consumer or {})}, indent=2) + "\n")
    path.chmod(0o644)
    return path


@contextmanager
def lab(
    docker: Docker,
    image: str,
    settings_file: Path,
    *,
    memory: str = "256m",
    restart: str = "on-failure",
    ready_timeout: float = 60.0,
) -> Iterator[Lab]:
    """Run consumer and producer (memory-limited, restart policy, settings file read-only, root fs read-only).

    Everything is removed on exit, failure or not; on failure the containers' logs and state go to stderr first.
    """
    suffix = uuid.uuid4().hex[:8]
    the_lab = Lab(docker, image, suffix, f"bplab-net-{suffix}", f"bplab-producer-{suffix}", f"bplab-consumer-{suffix}")
    common = [
        "--read-only",
        "--tmpfs",
        "/tmp:rw,size=16m",
        "--security-opt",
        "no-new-privileges",
        "--cap-drop",
        "ALL",
        "--label",
        "bplab.test=1",
    ]
    mount = f"type=bind,source={settings_file},target=/etc/bplab/settings.json,readonly"
    try:
        docker.cli("network", "create", "--label", "bplab.test=1", the_lab.network)
        docker.cli(
            "run",
            "-d",
            "--name",
            the_lab.consumer,
            "--network",
            the_lab.network,
            "--network-alias",
            "consumer",
            "-p",
            "127.0.0.1::8001",
            "-e",
            "BPLAB_PORT=8001",
            "-e",
            "BPLAB_SETTINGS_FILE=/etc/bplab/settings.json",
            "--mount",
            mount,
            *common,
            image,
            "bplab-consumer",
        )
        the_lab.started_at = time.time()
        docker.cli(
            "run",
            "-d",
            "--name",
            the_lab.producer,
            "--network",
            the_lab.network,
            "--network-alias",
            "producer",
            "-p",
            "127.0.0.1::8000",
            "--memory",
            memory,
            "--memory-swap",
            memory,
            "--restart",
            restart,
            "-e",
            "BPLAB_PORT=8000",
            "-e",
            "BPLAB_CONSUMER_URL=http://consumer:8001",
            "-e",
            "BPLAB_SETTINGS_FILE=/etc/bplab/settings.json",
            "--mount",
            mount,
            *common,
            image,
            "bplab-producer",
        )
        the_lab.consumer_url = f"http://127.0.0.1:{docker.host_port(the_lab.consumer, 8001)}"
        the_lab.producer_url = f"http://127.0.0.1:{docker.host_port(the_lab.producer, 8000)}"
        wait_http(f"{the_lab.consumer_url}/health", ready_timeout)
        wait_http(f"{the_lab.producer_url}/health", ready_timeout)
        yield the_lab
    except BaseException:
        with suppress(Exception):
            the_lab.dump_logs()
        raise
    finally:
        docker.remove(the_lab.producer, the_lab.consumer)
        docker.cli("network", "rm", the_lab.network, check=False)


def cleanup_leftovers(docker: Docker) -> None:
    """Remove containers and networks that earlier, interrupted runs left behind (label bplab.test=1)."""
    ids = docker.cli("ps", "-aq", "--filter", "label=bplab.test=1", check=False).stdout.split()
    if ids:
        docker.cli("rm", "-f", "-v", *ids, check=False)
    nets = docker.cli("network", "ls", "-q", "--filter", "label=bplab.test=1", check=False).stdout.split()
    if nets:
        docker.cli("network", "rm", *nets, check=False)


@dataclass
class OomResult:
    seconds: float
    exit_code: int
    oom_killed: bool
    restart_count: int
    estimates: list[tuple[float, float]]  # (seconds since the load began, process.seconds_to_limit)
    rss_samples: list[tuple[float, int]]


def drive_to_oom(the_lab: Lab, rate: float, *, slow_factor: float = 5.0, timeout: float = 600.0) -> OomResult:
    """Slow the consumer, switch the producer to an unbounded queue at `rate`/s, and wait for the kernel's kill.

    Timing starts when the new config is accepted and ends at the container's `die` event (exit code 137).
    """
    docker = the_lab.docker
    container_id = docker.inspect(the_lab.producer)["Id"]
    restarts_before = int(docker.inspect(the_lab.producer)["RestartCount"])
    post(f"{the_lab.consumer_url}/admin/slow-down", {"factor": slow_factor})
    begin_wall = time.time()
    post(f"{the_lab.producer_url}/admin/config", {"queue_mode": "unbounded", "production_rate": rate})
    begin = time.monotonic()
    estimates: list[tuple[float, float]] = []
    rss: list[tuple[float, int]] = []
    while time.monotonic() - begin < timeout:
        info = docker.inspect(the_lab.producer)
        if int(info["RestartCount"]) > restarts_before or not info["State"]["Running"]:
            break
        with suppress(Exception):
            process = the_lab.status().get("process", {})
            now = time.monotonic() - begin
            if process.get("seconds_to_limit") is not None:
                estimates.append((now, float(process["seconds_to_limit"])))
            if process.get("rss_bytes") is not None:
                rss.append((now, int(process["rss_bytes"])))
        time.sleep(1.0)
    else:
        raise TimeoutError(f"no OOM kill within {timeout:.0f} s at {rate}/s")
    # The die event carries the exit code and the exact time; State.ExitCode is reset once the restart runs.
    die = poll(
        lambda: next((e for e in docker.events(container_id, begin_wall) if e.get("Action") == "die"), None),
        timeout=30,
        interval=0.5,
        until=lambda event: event is not None,
    ).last
    if die is None:
        raise DockerError("the producer stopped but docker reported no 'die' event")
    died_at = float(die["timeNano"]) / 1e9
    info = docker.inspect(the_lab.producer)
    return OomResult(
        seconds=died_at - begin_wall,
        exit_code=int(die["Actor"]["Attributes"].get("exitCode", "-1")),
        oom_killed=bool(info["State"]["OOMKilled"]),
        restart_count=int(info["RestartCount"]),
        estimates=estimates,
        rss_samples=rss,
    )


def wait_restarted(the_lab: Lab, timeout: float = 60.0) -> float:
    """Wait until the restarted producer answers again; return the seconds it took."""

    def answers_again() -> bool:
        if not the_lab.docker.inspect(the_lab.producer)["State"]["Running"]:
            return False
        # The restarted container may publish the port anew: read it on every try.
        the_lab.producer_url = f"http://127.0.0.1:{the_lab.docker.host_port(the_lab.producer, 8000)}"
        get(f"{the_lab.producer_url}/health", timeout=2.0)
        return True

    waited = poll(answers_again, timeout=timeout, interval=0.5, not_yet=(Exception,))
    if not waited.done:
        raise TimeoutError(f"the producer did not come back within {timeout:.0f} s")
    return waited.seconds


def early_estimate(estimates: Sequence[tuple[float, float]], after: float = 10.0) -> tuple[float, float] | None:
    """The first `seconds_to_limit` estimate taken at least `after` s into the load (growth rate has settled)."""
    for at, estimate in estimates:
        if at >= after and estimate > 0:
            return at, estimate
    return None
