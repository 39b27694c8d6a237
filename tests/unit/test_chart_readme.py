"""Every value the chart takes is documented in the chart's README table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "backpressure-lab"


def leaf_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if (
            isinstance(value, dict)
            and value
            and path not in {"config.spec"}
            and not path.endswith(
                ("resources", "probes.liveness", "probes.readiness", "additionalLabels", "nodeSelector", "affinity")
            )
        ):
            keys.extend(leaf_keys(value, path + "."))
        else:
            keys.append(path)
    return keys


def test_every_value_is_in_the_readme() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    undocumented = []
    for key in leaf_keys(values):
        parent, _, leaf = key.rpartition(".")
        spelled = {f"`{key}`", f"`{parent}.*`", f"`{parent}.{leaf}`"}
        component = key.split(".", 1)[0]
        short = key.split(".", 1)[-1]
        if not any(form in readme for form in spelled) and f"`{component}.{short.split('.')[0]}" not in readme:
            undocumented.append(key)
    assert not undocumented, f"add these to charts/backpressure-lab/README.md: {undocumented}"
