"""The same mechanism without Docker: the producer in a memory cgroup of its own, killed by the kernel at the limit.

Docker's `--memory 256m` is nothing but this cgroup file. Here the test writes it itself (cgroup v1's
`memory.limit_in_bytes`, plus `memory.memsw.limit_in_bytes` where swap accounting exists, or cgroup v2's `memory.max`
and `memory.swap.max`), moves a plain producer process into the cgroup, drives the lesson and reads the kernel's
verdict: signal 9, and the cgroup's own OOM-kill counter. Skips only where cgroups are not writable (never under CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.containers import lab
from tests.containers.conftest import FIGURES
from tests.ports import free_ports
from tests.tiers import require, unavailable

pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]

LIMIT_BYTES = 256 * lab.MIB
# Five times the lesson's 50 items/s: this test shows the kernel's kill at the cgroup's limit, not the lesson's pace
# (tests/containers/test_oom.py and the node tier time that), so it fills the same 256 MiB in seconds, not minutes.
RATE = 250.0
OOM_BOUND_SECONDS = 120.0
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class MemoryCgroup:
    path: Path
    version: int

    def oom_kills(self) -> int:
        """The kernel's count of OOM kills in this cgroup (v1 memory.oom_control, v2 memory.events)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in (self.path / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0


def _writable_memory_parent() -> tuple[Path, int] | None:
    if (CGROUP_ROOT / "memory" / "memory.limit_in_bytes").exists():
        parent = CGROUP_ROOT / "memory"
        return (parent, 1) if os.access(parent, os.W_OK) else None
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.exists() and "memory" in controllers.read_text().split():
        # cgroup v2: a child of the root (or of our own cgroup) whose parent delegates the memory controller.
        subtree = CGROUP_ROOT / "cgroup.subtree_control"
        if os.access(CGROUP_ROOT, os.W_OK) and subtree.exists():
            if "memory" not in subtree.read_text().split():
                with suppress(OSError):
                    subtree.write_text("+memory")
            if "memory" in subtree.read_text().split():
                return CGROUP_ROOT, 2
    return None


@pytest.fixture
def memory_cgroup() -> Iterator[MemoryCgroup]:
    require(sys.platform == "linux", "memory cgroups need Linux")
    found = _writable_memory_parent()
    if found is None:
        unavailable("no writable memory cgroup (run as root on Linux with the memory controller mounted)")
    assert found is not None
    parent, version = found
    path = parent / f"bplab-test-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    cgroup = MemoryCgroup(path, version)
    try:
        if version == 1:
            (path / "memory.limit_in_bytes").write_text(str(LIMIT_BYTES))
            memsw = path / "memory.memsw.limit_in_bytes"
            if memsw.exists():  # only with swap accounting; must not be below memory.limit_in_bytes
                memsw.write_text(str(LIMIT_BYTES))
        else:
            (path / "memory.max").write_text(str(LIMIT_BYTES))
            with suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        yield cgroup
    finally:
        for pid in (path / "cgroup.procs").read_text().split():
            with suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        for _ in range(50):
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _spawn(
    module: str, port: int, env: dict[str, str], log: Path, cgroup: Path | None = None
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", module]
    if cgroup is not None:
        # The shell joins the cgroup, then becomes the producer: the kernel's kill hits the producer itself.
        command = ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", str(cgroup), *command]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=lab.ROOT, env={**env, "BPLAB_PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_producer_in_a_memory_cgroup_is_killed_by_the_kernel(memory_cgroup: MemoryCgroup, tmp_path: Path) -> None:
    consumer_port, producer_port = free_ports(2)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "BPLAB_"))} | {
        "BPLAB_HOST": "127.0.0.1",
        "BPLAB_CONSUMER_URL": f"http://127.0.0.1:{consumer_port}",
        "PYTHONUNBUFFERED": "1",
    }
    consumer = _spawn("backpressure_lab.consumer", consumer_port, env, tmp_path / "consumer.log")
    producer = _spawn("backpressure_lab.producer", producer_port, env, tmp_path / "producer.log", memory_cgroup.path)
    consumer_url, producer_url = f"http://127.0.0.1:{consumer_port}", f"http://127.0.0.1:{producer_port}"
    try:
        lab.wait_http(f"{consumer_url}/health", 60)
        lab.wait_http(f"{producer_url}/health", 60)
        assert str(producer.pid) in (memory_cgroup.path / "cgroup.procs").read_text().split()
        limit = lab.get(f"{producer_url}/status")["process"].get("memory_limit_mb")
        assert limit is not None, "the producer reports its memory limit"
        assert abs(float(limit) - 256) < 1, f"producer sees limit {limit} MB"
        kills_before = memory_cgroup.oom_kills()

        lab.post(f"{consumer_url}/admin/slow-down", {"factor": 5})
        lab.post(f"{producer_url}/admin/config", {"queue_mode": "unbounded", "production_rate": RATE})
        begin = time.monotonic()
        try:
            returncode = producer.wait(OOM_BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the kernel did not kill the producer within {OOM_BOUND_SECONDS:.0f} s")
        seconds = time.monotonic() - begin
        FIGURES["cgroup_oom"] = f"{seconds:.1f} s at {RATE:g} items/s (cgroup v{memory_cgroup.version}, no Docker)"
        assert returncode == -9, f"killed by SIGKILL, got return code {returncode}"
        assert memory_cgroup.oom_kills() > kills_before, "the cgroup's oom_kill counter went up"
    except BaseException:
        for name in ("producer", "consumer"):
            print(f"----- {name} log -----\n{(tmp_path / f'{name}.log').read_text(errors='replace')[-4000:]}")
        raise
    finally:
        _stop(producer)
        _stop(consumer)
