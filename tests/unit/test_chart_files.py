"""The chart's generated files are what their generators make now: nobody edits them by hand and forgets the source."""

from __future__ import annotations

import json
from pathlib import Path

from tools.dashboard import all_queries, dashboard
from tools.settings_tables import tables_in
from tools.validate_template import template
from tools.values_schema import values_schema

CHART = Path(__file__).resolve().parents[2] / "charts" / "backpressure-lab"


def test_dashboard_json_is_generated() -> None:
    committed = json.loads((CHART / "dashboards" / "backpressure-lab.json").read_text())
    assert committed == dashboard(), "run `make chart-files` and commit the result"


def test_values_schema_is_generated() -> None:
    committed = json.loads((CHART / "values.schema.json").read_text())
    assert committed == values_schema(), "run `make chart-files` and commit the result"


def test_validate_template_is_generated() -> None:
    committed = (CHART / "templates" / "validate.yaml").read_text()
    assert committed == template(), "run `make chart-files` and commit the result"


def test_readme_settings_tables_are_generated() -> None:
    readme = (CHART.parents[1] / "README.md").read_text()
    assert readme == tables_in(readme), "run `make chart-files` and commit the result"


def test_dashboard_has_the_original_panels_and_the_new_ones() -> None:
    board = dashboard()
    assert (board["uid"], board["title"]) == ("backpressure-lab", "Backpressure Lab")
    titles = {panel["title"] for panel in board["panels"]}
    original = {"Queue Depth", "Memory Usage", "Throughput", "Rejected and Dropped", "Queue Wait (p50/p95/p99)",
                "Processing Time (p50/p95/p99)", "Rate-Limit Delays", "Consumer Processing Time", "Items in Flight",
                "Totals"}  # fmt: skip
    added = {"Memory vs Limit", "Time to Memory Limit", "Restarts and OOM Kills", "429 and 503 Rates",
             "Little's Law: L vs λW"}  # fmt: skip
    assert original | added <= titles
    assert any("jaeger" in link["title"].lower() for link in board["links"])


def test_every_panel_query_names_a_metric_the_services_export() -> None:
    for title, expr in all_queries():
        assert "backpressure_" in expr or "kube_pod_container" in expr, title
