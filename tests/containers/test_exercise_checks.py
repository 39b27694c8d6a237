"""`bplab check` against the lab's image, for the exercises whose promise depends on the container: the baseline, the
memory lesson with the producer under its real 256 MiB limit (exercise 3 then reports the limit and the time to reach
it) and the bounded queue that keeps memory flat, each on a lab of its own at the same time. Every other check runs
once, in the services tier (tests/cli): the image runs the same code, and the wall-clock lessons are not worth playing
twice in CI."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.containers import lab

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]

CONTAINER_LESSONS = ("1", "3", "4")


def bplab_check(the_lab: lab.Lab, number: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "backpressure_lab.cli", "--producer", the_lab.producer_url,
         "--consumer", the_lab.consumer_url, "check", number],
        cwd=lab.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(lab.ROOT), "COLUMNS": "160", "TERM": "dumb"},
    )  # fmt: skip


def test_every_exercise_check_passes_in_containers(docker: lab.Docker, image: lab.BuildResult, tmp_path: Path) -> None:
    defaults = lab.write_settings(tmp_path / "settings.json", producer={}, consumer={})
    with ExitStack() as stack:
        labs = [stack.enter_context(lab.lab(docker, image.image, defaults)) for _ in CONTAINER_LESSONS]
        checks = [bplab_check(the_lab, number) for the_lab, number in zip(labs, CONTAINER_LESSONS, strict=True)]
        for check in checks:
            stack.callback(check.kill)
        outputs = {
            number: check.communicate(timeout=800) for number, check in zip(CONTAINER_LESSONS, checks, strict=True)
        }
    for number, check in zip(CONTAINER_LESSONS, checks, strict=True):
        stdout, stderr = outputs[number]
        print(stdout)
        assert check.returncode == 0, f"check {number}: {stdout}{stderr}"
        assert stdout.count("PASS") == 1, stdout
        assert "FAIL" not in stdout
    assert "limit 256 MiB" in outputs["3"][0], "exercise 3 should see the container's memory limit"
