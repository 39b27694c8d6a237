"""The pinned tools where tools/build-tools.sh puts them (the version-keyed tool cache), and helm among them.

One lookup for every tier that runs helm: the chart, Prometheus and tracing tiers and the operator harness.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.controlplane.cluster import cache_root, read_versions
from tests.tiers import unavailable


def cached_binary(tool: str, version_key: str, binary: str | None = None) -> Path:
    """Where the tool cache keeps `binary` (default: `tool`) at the version versions.env pins (it may not be built)."""
    return cache_root() / f"{tool}-{read_versions()[version_key]}" / "bin" / (binary or tool)


def cached_helm() -> Path:
    """helm at the pinned HELM_VERSION in the tool cache (it may not be built)."""
    return cached_binary("helm", "HELM_VERSION")


def find_helm(*, path_too: bool = True) -> Path | None:
    """helm at the pinned HELM_VERSION: the tool cache first, then (`path_too`) PATH if it reports exactly that
    version; None when neither has it."""
    cached = cached_helm()
    if os.access(cached, os.X_OK):
        return cached
    found = shutil.which("helm") if path_too else None
    if found is None:
        return None
    try:
        out = subprocess.run(
            [found, "version", "--template", "{{.Version}}"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(found) if out.strip() == read_versions()["HELM_VERSION"] else None


def require_helm() -> Path:
    """find_helm(), or the tier is unavailable (a skip, a failure under CI=true)."""
    binary = find_helm()
    if binary is None:
        unavailable(f"helm {read_versions()['HELM_VERSION']} not built: run `make tools` (tools/build-tools.sh helm)")
    return binary
