"""The tracing tier: a real Jaeger v2 (tools/build-tools.sh jaeger) running the chart's config on loopback, and the
chart rendered by the pinned helm (so the services get exactly the chart's OTEL_* environment)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.tiers import unavailable
from tests.tool_cache import find_helm
from tests.tracing.jaeger import Jaeger, jaeger_binary, manifest, render_chart, running_jaeger


@pytest.fixture(scope="session")
def jaeger_path() -> Path:
    path = jaeger_binary()
    if path is None:
        unavailable(
            "jaeger (cmd/jaeger, Jaeger v2) not in the tool cache: run `tools/build-tools.sh jaeger` (make tools)"
        )
    return path


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    helm = find_helm(path_too=False)
    if helm is None:
        unavailable("helm (pinned HELM_VERSION) not in the tool cache: run `tools/build-tools.sh helm` (make tools)")
    return render_chart(helm, tmp_path_factory.mktemp("helm"))


@pytest.fixture(scope="session")
def chart_jaeger_config(chart: list[dict[str, Any]]) -> dict[str, Any]:
    """The Jaeger config.yaml exactly as the chart ships it (its ConfigMap)."""
    config: dict[str, Any] = yaml.safe_load(manifest(chart, "ConfigMap", "jaeger")["data"]["config.yaml"])
    return config


@pytest.fixture(scope="session")
def jaeger_version(jaeger_path: Path) -> str:
    return subprocess.run([str(jaeger_path), "version"], capture_output=True, text=True, timeout=30, check=True).stdout


@pytest.fixture
def jaeger(jaeger_path: Path, chart_jaeger_config: dict[str, Any], tmp_path: Path) -> Iterator[Jaeger]:
    """A fresh Jaeger per test: its memory store holds only that test's traces."""
    with running_jaeger(jaeger_path, chart_jaeger_config, tmp_path) as running:
        yield running
