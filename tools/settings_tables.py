"""Generates the README's settings tables from the settings declarations (name, default, what is allowed, meaning),
between the markers `<!-- settings:producer -->` ... `<!-- /settings:producer -->` (and the consumer's). Run
`python tools/settings_tables.py README.md` (make chart-files) to rewrite them in place; tests/unit/test_chart_files.py
fails when the committed README differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backpressure_lab.common.settings import SettingValue, as_dict, declared, plain, rules_of
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.producer.settings import ProducerSettings

TABLES: dict[str, type[Any]] = {"producer": ProducerSettings, "consumer": ConsumerSettings}


def _shown(value: SettingValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"`{value}`"
    return str(plain(value))


def table(settings_type: type[Any]) -> str:
    defaults = as_dict(settings_type())
    rules = {name: rule.message for rule in rules_of(settings_type) for name in rule.fields}
    rows = ["| Setting | Default | Allowed | What it does |", "| --- | --- | --- | --- |"]
    for name, bounds in declared(settings_type).items():
        allowed = bounds.allowed() + (f" {bounds.unit}" if bounds.unit and bounds.kind != "boolean" else "")
        if name in rules:
            allowed += f"; {rules[name]}"
        rows.append(f"| `{name}` | {_shown(defaults[name])} | {allowed} | {bounds.description} |")
    return "\n".join(rows)


def tables_in(text: str) -> str:
    """`text` with every marked table replaced by the generated one."""
    for section, settings_type in TABLES.items():
        pattern = re.compile(rf"(<!-- settings:{section} -->\n).*?(\n<!-- /settings:{section} -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"no <!-- settings:{section} --> ... <!-- /settings:{section} --> markers")
        generated = table(settings_type)
        text = pattern.sub(lambda match: match.group(1) + generated + match.group(2), text)  # noqa: B023 -- used at once
    return text


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(tables_in(path.read_text()))
