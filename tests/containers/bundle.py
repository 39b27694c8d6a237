"""What the bundle tests need besides the instructor's Docker (the tier's daemon): a learner's fresh Docker daemon
beside it, image stand-ins for the images this machine cannot build, and a bundle's parts to take apart and re-pack."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.containers.lab import ROOT, Docker, start_daemon, stop_daemon

MKIMAGE = ROOT / "tools" / "node" / "pause" / "mkimage.py"
STAND_IN_ENTRYPOINT = b"#!/bin/sh\necho 'a stand-in for an image this machine cannot build or pull' >&2\nexit 1\n"


def load_image_stand_in(docker: Docker, ref: str, workdir: Path) -> None:
    """ImageStandIn: a one-file image under `ref`, for an image no registry here serves and nothing here builds
    (Grafana is AGPL, kind's node image and the webhook's certgen come only from registries). It has the name and
    the place in the bundle of the real one; its only file says what it is."""
    script = workdir / "stand-in"
    script.write_bytes(STAND_IN_ENTRYPOINT)
    archive = workdir / f"{hashlib.sha256(ref.encode()).hexdigest()[:16]}.tar"
    subprocess.run([sys.executable, str(MKIMAGE), str(script), ref, str(archive), "stand-in", "65534:65534"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    docker.cli("load", "-q", "-i", str(archive))


LEARNERS_NETNS = "bplab-learner"


def learners_daemon_env(home: Path) -> dict[str, str]:
    """start-dockerd.sh's settings for a second daemon: its own socket, exec root, pidfile and data root (in `home`),
    and its own network namespace, so that its docker0 and NAT rules are not the tier's daemon's."""
    return {
        **os.environ,
        "BPLAB_CACHE": str(home),
        "BPLAB_DOCKER_SOCK": "/run/bplab-learner.sock",
        "BPLAB_DOCKER_EXEC_ROOT": "/run/bplab-learner",
        "BPLAB_DOCKER_PIDFILE": "/run/bplab-learner.pid",
        "BPLAB_DOCKER_REUSE": "0",
        "BPLAB_DOCKER_NETNS": LEARNERS_NETNS,
    }


@contextmanager
def learners_docker(cli: str, home: Path) -> Iterator[Docker]:
    """A second, empty Docker daemon (learners_daemon_env): a learner's laptop."""
    env = learners_daemon_env(home)
    subprocess.run(["ip", "netns", "delete", LEARNERS_NETNS], capture_output=True, timeout=30, check=False)
    subprocess.run(["ip", "netns", "add", LEARNERS_NETNS], capture_output=True, timeout=30, check=True)
    # A laptop has a loopback: kind publishes the API server's port on 127.0.0.1.
    subprocess.run(["ip", "-n", LEARNERS_NETNS, "link", "set", "lo", "up"], capture_output=True, timeout=30,
                   check=True)  # fmt: skip
    try:
        try:
            yield Docker(cli, start_daemon(env)[0])
        finally:
            stop_daemon(env)
    finally:
        subprocess.run(["ip", "netns", "delete", LEARNERS_NETNS], capture_output=True, timeout=30, check=False)


def extract(bundle: Path, into: Path) -> Path:
    with tarfile.open(bundle) as archive:
        archive.extractall(into, filter="data")
    return into


def repack(parts: Path, out: Path, *, resum: bool = True) -> Path:
    """The folder `parts` as a bundle again; with `resum`, its SHA256SUMS made anew (a bundle whole but different)."""
    if resum:
        files = sorted(
            p.relative_to(parts).as_posix() for p in parts.rglob("*") if p.is_file() and p.name != "SHA256SUMS"
        )
        (parts / "SHA256SUMS").write_text(
            "".join(f"{hashlib.sha256((parts / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
        )
    with tarfile.open(out, "w") as archive:
        archive.add(parts, arcname=".")
    return out


def read_env(path: Path) -> Mapping[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
