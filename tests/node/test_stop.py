"""Stopping the single node leaves nothing behind. Collected after test_e2e.py and test_monitoring.py (pytest takes a
folder's modules in name order), which need the node the package fixture `e2e` left running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.node.conftest import NODE, E2eRun, stop_node

pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]


def test_stop_leaves_nothing(e2e: E2eRun, node_logs: Path) -> None:
    stop_node(node_logs / "down-test.log")
    leftovers = [sys.executable, str(NODE / "node.py"), "leftovers"]
    result = subprocess.run(leftovers, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"left after the stop: {json.loads(result.stdout or '{}')} {result.stderr}"
