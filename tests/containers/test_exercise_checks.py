"""`bplab check` against the lab's image, for the exercises whose promise depends on the container: the baseline, the
memory lesson with the producer under its real 256 MiB limit (exercise 3 then reports the limit and the time to reach
it) and the bounded queue that keeps memory flat. Every other check runs once, in the services tier (tests/cli): the
image runs the same code, and the wall-clock lessons are not worth playing twice in CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.containers import lab

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]

CONTAINER_LESSONS = ("1", "3", "4")


def test_every_exercise_check_passes_in_containers(docker: lab.Docker, image: lab.BuildResult, tmp_path: Path) -> None:
    defaults = lab.write_settings(tmp_path / "settings.json", producer={}, consumer={})
    with lab.lab(docker, image.image, defaults) as the_lab:
        result = subprocess.run(
            [sys.executable, "-m", "backpressure_lab.cli", "--producer", the_lab.producer_url,
             "--consumer", the_lab.consumer_url, "check", *CONTAINER_LESSONS],
            cwd=lab.ROOT, capture_output=True, text=True, timeout=800, check=False,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(lab.ROOT), "COLUMNS": "160", "TERM": "dumb"},
        )  # fmt: skip
        print(result.stdout)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("PASS") == len(CONTAINER_LESSONS)
        assert "FAIL" not in result.stdout
        assert "limit 256 MiB" in result.stdout, "exercise 3 should see the container's memory limit"
