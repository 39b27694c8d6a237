"""Fixtures for the Prometheus tests: Debian's prometheus and promtool, and the chart's rules rendered by helm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helm import Helm, prometheus_rule_groups
from tests.tiers import require_tool
from tests.tool_cache import require_helm

# The namespace the rules are rendered for and the scraped series are labelled with (a ServiceMonitor adds it).
NAMESPACE = "backpressure-lab"


@pytest.fixture(scope="session")
def prometheus_binary() -> Path:
    return Path(require_tool("prometheus", "apt-get install prometheus"))


@pytest.fixture(scope="session")
def promtool() -> Path:
    return Path(require_tool("promtool", "apt-get install prometheus"))


@pytest.fixture(scope="session")
def rule_groups(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The chart's PrometheusRule `spec.groups` (helm template --set prometheusRule.enabled=true)."""
    return prometheus_rule_groups(Helm(require_helm(), tmp_path_factory.mktemp("helm-home")), NAMESPACE)


@pytest.fixture(scope="session")
def rules_file(rule_groups: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PrometheusRule's spec as a Prometheus rules file (what the Prometheus Operator writes for it)."""
    path = tmp_path_factory.mktemp("rules") / "backpressure-lab.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups}, sort_keys=False))
    return path
