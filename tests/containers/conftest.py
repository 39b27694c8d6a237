"""The containers tier: a Docker daemon (started here if none answers), the base image, and the lab's image.

The session starts Debian's dockerd with tools/docker/start-dockerd.sh when no daemon answers, and stops it at the end
only if it started it. Figures (image size, build time, time to OOM, the control's memory) are printed at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.containers import lab
from tests.tiers import require, require_tool, unavailable

FIGURES: dict[str, Any] = {}  # printed at the end of the session
MEASURED: dict[str, float] = {}  # passed between tests (the control runs 1.5x the measured time to OOM)
INSTALL_HINT = "apt-get install -y docker.io debootstrap (and run as root), or start Docker and set DOCKER_HOST"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "containers tier figures")
        for key, value in FIGURES.items():
            terminalreporter.write_line(f"{key}: {value}")


@pytest.fixture(scope="session")
def docker() -> Iterator[lab.Docker]:
    require(os.uname().sysname == "Linux", "the containers tier needs Linux (memory cgroups)")
    cli = lab.pick_cli()
    if cli is None:
        if not lab.build_cli_candidates():
            require_tool("docker", INSTALL_HINT)
        unavailable(
            f"no docker CLI that can do a BuildKit build (buildx plugin or Debian's docker.io 20.10): {INSTALL_HINT}"
        )
    assert cli is not None
    started = False
    host = os.environ.get("DOCKER_HOST", "")
    default_sock = Path("/var/run/docker.sock")
    if not host and default_sock.exists():
        host = f"unix://{default_sock}"
    if not (host and lab.Docker(cli, host).ping()):
        require(os.geteuid() == 0, f"no Docker daemon answers and starting one needs root: {INSTALL_HINT}")
        require_tool("dockerd", INSTALL_HINT)
        try:
            host, started = lab.start_daemon()
        except lab.DockerError as error:
            unavailable(f"could not start dockerd: {error}")
    client = lab.Docker(cli, host)
    lab.cleanup_leftovers(client)
    try:
        yield client
    finally:
        lab.cleanup_leftovers(client)
        if started:
            lab.stop_daemon()


@pytest.fixture(scope="session")
def image(docker: lab.Docker) -> lab.BuildResult:
    base = lab.base_image_name()
    if not docker.image_exists(base) and shutil.which("debootstrap") is None:
        # A laptop pulls the base from its registry during the build; here it has to be synthesized.
        unavailable(f"base image {base} is not present and debootstrap is missing: apt-get install -y debootstrap")
    lab.ensure_base_image(docker)
    result = lab.build_image(docker)
    FIGURES["image"] = (
        f"{result.image} {result.size_bytes / 1e6:.1f} MB, built in {result.seconds:.1f} s (cache as found)"
    )
    return result


def lesson_settings(path: Path) -> Path:
    """What the producer reads at start-up: deliberately different from both the defaults and the lesson's load."""
    return lab.write_settings(
        path,
        producer={"queue_mode": "bounded", "max_queue_size": 40, "production_rate": 7.0},
        consumer={"processing_time_ms": 100.0},
    )


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return lesson_settings(tmp_path / "settings.json")
