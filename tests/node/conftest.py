"""The node tier: the lab on a real single Kubernetes node on this machine (tools/node/, docs/node.md).

One node per session: the package fixture `e2e` runs `tools/node/e2e.sh` (what `make e2e CLUSTER=node` runs) once
with KEEP=1 and hands its log to the tests, which assert on what it established (test_e2e.py) and query the node's
Prometheus (test_monitoring.py); the node is stopped at the end of the package whatever happened (and
test_stop.py, collected last, proves the stop). The project's image is built by the
containers tier's code (tests/containers/lab.py, via tools/node/image.py) in the containers tier's Docker daemon
(the `docker` fixture: reused when it runs, started here otherwise and stopped at the end).

Prerequisites (root, containerd, runc, CNI plugins, conntrack, the pinned binaries from `make tools`) are checked by
tools/node/common.sh's `missing_prerequisite`, the same check `make up CLUSTER=node` makes: outside CI the tier
skips with its one line, under CI=true it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.containers import lab
from tests.containers.conftest import docker  # noqa: F401 (the containers tier's daemon fixture, shared)
from tests.helm_mirror import serving_helm_mirror
from tests.tiers import unavailable

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "tools" / "node"
STATE = Path(os.environ.get("BPLAB_NODE_DIR", "/var/lib/bplab-node"))
NODE_IP = os.environ.get("BPLAB_NODE_IP", "10.200.0.1")  # tools/node/common.sh: the node's address, its NodePorts
# The exercises played on the node: a kubectl-applied change of the producer's queue (4), scaling pods (14, cluster
# only) and one that sets both services and is read through the NodePort by a client (15, push-back). Every check
# starts from the baseline the operator applied, so `helm test` and these three cover the path from a manifest to both
# pods; every other check is a lesson of the services themselves and runs once, in the services tier (tests/cli).
# `make e2e CLUSTER=node` itself checks them all. Exercise 15 is solved rather than checked: `bplab solve` applies it
# with kubectl and runs the same check, so a learner's hint, solve and reset are shown on the node at no extra time.
NODE_CHECKS = ("4", "14")
NODE_SOLVE = "15"
E2E_TIMEOUT = 2700.0  # up (image build, node start) + helm test + every exercise check + the OOM lesson: ~10 min
FIGURES: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "node tier figures")
        for key, value in FIGURES.items():
            terminalreporter.write_line(f"{key}: {value}")


@dataclass(frozen=True)
class E2eRun:
    """What tools/node/e2e.sh printed (its `e2e: ` lines are the facts it established) and how it ended."""

    log_path: Path
    log: str
    returncode: int
    seconds: float
    started_at: float
    """Wall-clock time (time.time()) when e2e.sh started: the start of the scenario Prometheus recorded."""

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.splitlines()[-lines:])

    def fact(self, prefix: str) -> str:
        """The rest of the `e2e: <prefix>...` line; fails the test with the log's tail when e2e.sh never got there."""
        for line in self.log.splitlines():
            if line.startswith(f"e2e: {prefix}"):
                return line.removeprefix(f"e2e: {prefix}").strip()
        pytest.fail(
            f"tools/node/e2e.sh did not establish '{prefix}' (exit {self.returncode}); log {self.log_path}, "
            f"last lines:\n{self.tail()}",
            pytrace=False,
        )


def missing_prerequisite() -> str:
    result = subprocess.run(
        ["bash", "-c", '. "$1/common.sh" && missing_prerequisite', "bash", str(NODE)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return f"tools/node/common.sh failed: {result.stderr.strip()[-300:]}"
    return result.stdout.strip()


def run_script(script: str, log_path: Path, env: dict[str, str], timeout: float) -> tuple[int, float]:
    """Run a tools/node script in its own process group, output to `log_path`; on timeout kill that group."""
    start = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["bash", str(NODE / script)], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    return code, time.monotonic() - start


def stop_node(log_path: Path) -> None:
    code, seconds = run_script("down.sh", log_path, dict(os.environ), timeout=300)
    if code != 0:
        pytest.fail(f"tools/node/down.sh exited {code}; see {log_path}", pytrace=False)
    FIGURES.setdefault("node stop (down.sh, the first time)", f"{seconds:.1f} s")


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While the node runs, SIGTERM (a cancelled CI job) unwinds like Ctrl-C, so the fixture still stops the node
    (node.py runs in its own session and would outlive pytest). A handler already there (the control-plane tier's
    does the same) is kept."""
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def unwind(number: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {number}")

    signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="package")
def node_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node")


@pytest.fixture(scope="session")
def node_prerequisites() -> None:
    """Checked before the `docker` fixture (session-scoped too, listed after this) starts a daemon for nothing."""
    missing = missing_prerequisite()
    if missing:
        unavailable(missing)


@pytest.fixture(scope="package")
def e2e(node_prerequisites: None, docker: lab.Docker, node_logs: Path) -> Iterator[E2eRun]:  # noqa: F811 (imported)
    log_path = node_logs / "e2e.log"
    env = {**docker.env(), "KEEP": "1", "BPLAB_DOCKER": docker.binary}
    env |= {"CHECKS": " ".join(NODE_CHECKS), "SOLVE": NODE_SOLVE}
    # kube-prometheus-stack from the helm-mirror on loopback (CI cannot reach its repository), with Helm's repository
    # list and cache of this run only, so the machine's own `prometheus-community` entry is left as it was.
    env |= {"HELM_CONFIG_HOME": str(node_logs / "helm-config"), "HELM_CACHE_HOME": str(node_logs / "helm-cache")}
    with sigterm_unwinds(), serving_helm_mirror() as mirror:
        env["BPLAB_KPS_REPO"] = mirror
        try:
            started_at = time.time()
            code, seconds = run_script("e2e.sh", log_path, env, timeout=E2E_TIMEOUT)
            run = E2eRun(log_path, log_path.read_text(errors="replace"), code, seconds, started_at)
            FIGURES["e2e (tools/node/e2e.sh: image, node start, helm, checks, OOM)"] = f"{seconds:.0f} s, exit {code}"
            for key, pattern in (("node start (start.sh)", r"^e2e: node ready in (.*)$"),
                                 ("e2e.sh's own total", r"^e2e: passed in (.*)$")):  # fmt: skip
                match = re.search(pattern, run.log, re.MULTILINE)
                if match:
                    FIGURES[key] = match.group(1)
            # node.py's own marks (seconds from its start: etcd, apiserver, node Ready, kube-proxy, CoreDNS) and RSS
            for key, name in (("node start marks, s", "timings.json"), ("node RSS 5 s after ready, MiB", "rss.json")):
                with contextlib.suppress(OSError, ValueError):
                    FIGURES[key] = json.dumps(json.loads((STATE / name).read_text()), separators=(",", ":"))
            yield run
        finally:
            stop_node(node_logs / "down.log")
