"""tools/docker/start-dockerd.sh and stop-dockerd.sh after their daemon vanished without cleaning up: a SIGKILL, an OOM
kill, or a machine restored from a snapshot, where /run stays on disk and no process does. The pidfiles of dockerd and
of its containerd remain, naming a PID that is nobody's or, by now, another program's; after a kill (not a restore)
dockerd's bind mount of its data root remains too. The CI after session 10 met the pidfile: start-dockerd.sh trusted
it, started nothing, and every test needing Docker errored."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers import lab
from tests.containers.bundle import learners_daemon_env, learners_docker
from tests.containers.lab import process_state, running
from tests.waiting import poll


@pytest.fixture
def another_program() -> Iterator[int]:
    """A live process that is neither dockerd nor containerd: what a recycled PID points at."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=30)


def mounted(path: Path) -> bool:
    """From the mount table: dockerd's bind mount of a folder onto itself keeps its device, so Path.is_mount misses
    it."""
    return any(line.split()[1] == str(path) for line in Path("/proc/self/mounts").read_text().splitlines())


def vanish(pidfile: Path, command: str) -> int:
    """SIGKILL the process a pidfile names, as a machine restore would lose it; its pidfile stays."""
    pid = int(pidfile.read_text().strip())
    # By comm alone: dockerd's containerd ends with dockerd and stays a zombie until it is reaped (seen here).
    found = process_state(pid)
    assert found is not None, f"no process {pid}"
    assert found[0] == command, found
    os.kill(pid, signal.SIGKILL)
    gone = poll(lambda: not running(pid, command), timeout=30, interval=0.1)
    assert gone.done, f"{command} (pid {pid}) outlived SIGKILL"
    return pid


@pytest.mark.parametrize("pid_now", ["nobody's", "another program's"])
def test_start_dockerd_starts_a_daemon_again_over_the_pidfiles_of_one_that_vanished(
    docker: lab.Docker, tmp_path: Path, another_program: int, pid_now: str
) -> None:
    env = learners_daemon_env(tmp_path / "home")
    dockerd_pidfile = Path(env["BPLAB_DOCKER_PIDFILE"])
    containerd_pidfile = Path(env["BPLAB_DOCKER_EXEC_ROOT"]) / "containerd" / "containerd.pid"
    with learners_docker(docker.binary, tmp_path / "home") as first:
        assert first.ping()
        assert containerd_pidfile.is_file(), "dockerd 20.10 runs its own containerd and records its PID here"
        gone = vanish(dockerd_pidfile, "dockerd")
        vanish(containerd_pidfile, "containerd")
        assert dockerd_pidfile.read_text().strip() == str(gone), "dockerd removes its pidfile only when it exits itself"
        assert not first.ping()
        if pid_now == "another program's":
            dockerd_pidfile.write_text(f"{another_program}\n")
            containerd_pidfile.write_text(str(another_program))

        host, started = lab.start_daemon(env)
        again = lab.Docker(docker.binary, host)

        assert again.ping()
        assert started, "over a stale pidfile, the daemon is the tier's to stop: start_daemon must say it started it"
        pid = int(dockerd_pidfile.read_text().strip())
        assert pid not in (gone, another_program)
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
        assert running(another_program, "sleep"), "the program that holds the recycled PID is left alone"
    data_root = tmp_path / "home" / "docker" / "data"
    assert not mounted(data_root), "stop-dockerd.sh leaves the data root mounted: nothing can delete it"
    assert not dockerd_pidfile.exists()
