"""How a test tier decides it cannot run: skip with one line outside CI, fail under CI=true.

Every tier that needs a tool, a privilege or a service calls `require(...)` (or `require_tool(...)`) at the start of
its fixture. Outside CI the learner's laptop may lack Docker or Go; there the tier skips with one line that names
what to install. Under CI=true a missing prerequisite is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Skip (outside CI) or fail (under CI=true) with one line that says what to install or fix."""
    if in_ci():
        pytest.fail(f"required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def require(condition: bool, reason: str) -> None:
    if not condition:
        unavailable(reason)


def require_tool(name: str, install_hint: str) -> str:
    """Return the tool's path, or skip/fail with `install_hint` (e.g. "make tools", "apt-get install docker.io")."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} not found on PATH: {install_hint}")
    return path
