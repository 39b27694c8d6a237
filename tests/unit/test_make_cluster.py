"""`make up/down/e2e CLUSTER=...`: kind or node; `local`, the node profile's first name, still works and says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("cluster", "scripts"), [("kind", "tools/kind"), ("node", "tools/node")])
def test_each_profile_runs_its_scripts(cluster: str, scripts: str) -> None:
    for target in ("up", "down", "e2e"):
        run = dry_run(target, f"CLUSTER={cluster}")
        assert run.returncode == 0, run.stderr
        assert f"{scripts}/{target}.sh" in run.stdout
        assert "renamed" not in run.stdout + run.stderr


def test_local_is_the_node_profile_and_says_it_was_renamed() -> None:
    run = dry_run("up", "CLUSTER=local")
    assert run.returncode == 0, run.stderr
    assert "CLUSTER=local was renamed CLUSTER=node" in run.stdout
    assert "tools/node/up.sh" in run.stdout


def test_an_unknown_profile_is_one_line_naming_both() -> None:
    run = dry_run("up", "CLUSTER=minikube")
    assert run.returncode != 0
    assert 'CLUSTER must be kind or node, not "minikube"' in run.stderr
