"""`bplab check all` against the lab's image: every exercise's promise holds in containers, with the producer under
its real 256 MiB memory limit (exercise 3 then reports the limit and the time to reach it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.containers import lab

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]


def test_every_exercise_check_passes_in_containers(docker: lab.Docker, image: lab.BuildResult, tmp_path: Path) -> None:
    defaults = lab.write_settings(tmp_path / "settings.json", producer={}, consumer={})
    with lab.lab(docker, image.image, defaults) as the_lab:
        result = subprocess.run(
            [sys.executable, "-m", "backpressure_lab.cli", "--producer", the_lab.producer_url,
             "--consumer", the_lab.consumer_url, "check", "all"],
            cwd=lab.ROOT, capture_output=True, text=True, timeout=800, check=False,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(lab.ROOT), "COLUMNS": "160", "TERM": "dumb"},
        )  # fmt: skip
        print(result.stdout)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("PASS") == 12
        assert result.stdout.count("SKIP") == 1  # 14 scales pods: only against a cluster
        assert "FAIL" not in result.stdout
        assert "limit 256.0 MiB" in result.stdout, "exercise 3 should see the container's memory limit"
