"""Pure: a BackpressureConfig's spec -> the settings every producer and consumer pod must run.

The CRD's schema already rejects wrong types, out-of-range values and unknown modes at `kubectl apply`. This module
checks again with the very declaration the services enforce, on the *resolved* settings (defaults filled in), so
a spec the services would answer with a 400 never reaches a pod. The CRD's CEL rules fold in the same defaults, so
with a current CRD this finds nothing new; it protects against an older CRD still installed (Helm never upgrades
crds/), which lets `processingMinMs: 300` alone through although it breaks min <= max against the default of 200.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from backpressure_lab.common.settings import SettingsError, SettingValue, apply_changes, as_dict, camel, declared
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.operator.autoscale_spec import AutoscaleSettings
from backpressure_lab.producer.settings import ProducerSettings

SECTIONS: dict[str, type[Any]] = {"producer": ProducerSettings, "consumer": ConsumerSettings}
AUTOSCALE = "autoscale"
"""spec.consumer.autoscale: for the operator itself (it scales the consumer Deployment), not a consumer setting."""
AUTOSCALE_EXAMPLE = "{minReplicas: 1, maxReplicas: 3}"


class InvalidSpecError(ValueError):
    """The spec cannot become settings; `problems` name the spec fields (camelCase) and what they accept."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class DesiredSettings:
    producer: ProducerSettings
    consumer: ConsumerSettings
    autoscale: AutoscaleSettings | None = None
    """None: the operator leaves the consumer Deployment's replicas alone."""

    def wire(self, component: str) -> dict[str, SettingValue]:
        """The full snake_case settings for one component's POST /admin/config (always the full set: a consumer
        change with processing_time_ms but without slow_down_factor would reset the factor)."""
        return as_dict(self.producer if component == "producer" else self.consumer)

    def document(self) -> dict[str, dict[str, SettingValue]]:
        """The settings file the pods read at start-up ({"producer": {...}, "consumer": {...}}, snake_case)."""
        return {"producer": as_dict(self.producer), "consumer": as_dict(self.consumer)}

    def camel_case(self) -> dict[str, dict[str, Any]]:
        """The resolved settings as the custom resource spells them (for status.settings)."""
        resolved: dict[str, dict[str, Any]] = {
            section: {camel(k): v for k, v in values.items()} for section, values in self.document().items()
        }
        if self.autoscale is not None:
            resolved["consumer"][AUTOSCALE] = {camel(k): v for k, v in as_dict(self.autoscale).items()}
        return resolved


def _camel_messages(section: str, problems: list[str], names: list[str]) -> list[str]:
    """Rewrite the declaration's snake_case names into the spec's field paths, e.g. spec.consumer.processingMinMs."""
    pattern = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")
    return [pattern.sub(lambda m: f"spec.{section}.{camel(m.group(1))}", problem) for problem in problems]


def _settings(section: str, settings_type: type[Any], raw: Mapping[str, Any], problems: list[str]) -> Any:
    """One section's (or spec.consumer.autoscale's) settings with the omitted ones at their defaults; None and the
    problems appended when any field is bad."""
    names = list(declared(settings_type))
    by_camel = {camel(name): name for name in names}
    changes: dict[str, object] = {}
    for key, value in raw.items():
        name = by_camel.get(str(key))
        if name is None:
            problems.append(f"spec.{section}.{key} is not a {section} setting (allowed: {', '.join(by_camel)})")
        else:
            changes[name] = value
    try:
        return apply_changes(settings_type(), changes)
    except SettingsError as error:
        problems.extend(_camel_messages(section, error.problems, names))
        return None


def desired_settings(spec: Mapping[str, Any]) -> DesiredSettings:
    """The settings the spec asks for, every omitted field at the service default; raises InvalidSpecError."""
    problems: list[str] = []
    resolved: dict[str, Any] = {}
    autoscale: AutoscaleSettings | None = None
    for section, settings_type in SECTIONS.items():
        raw = spec.get(section) or {}
        if not isinstance(raw, Mapping):
            problems.append(f"spec.{section} must be an object of settings")
            continue
        if section == "consumer" and AUTOSCALE in raw:
            raw = {key: value for key, value in raw.items() if key != AUTOSCALE}
            scaling = spec["consumer"][AUTOSCALE]
            if isinstance(scaling, Mapping):
                autoscale = _settings(f"consumer.{AUTOSCALE}", AutoscaleSettings, scaling, problems)
            else:
                problems.append(f"spec.consumer.{AUTOSCALE} must be an object such as {AUTOSCALE_EXAMPLE}")
        resolved[section] = _settings(section, settings_type, raw, problems)
    if problems:
        raise InvalidSpecError(problems)
    return DesiredSettings(producer=resolved["producer"], consumer=resolved["consumer"], autoscale=autoscale)


def differences(live: Mapping[str, Any], wanted: Mapping[str, SettingValue]) -> list[str]:
    """Names of the settings where what a pod reports differs from what it should run (floats compared closely)."""
    return [name for name, value in wanted.items() if not _same(live.get(name), value)]


def _same(live: object, wanted: SettingValue) -> bool:
    if isinstance(wanted, bool) or isinstance(live, bool):
        return live is wanted
    if isinstance(wanted, int | float) and isinstance(live, int | float):
        return math.isclose(float(live), float(wanted), rel_tol=1e-9, abs_tol=1e-9)
    return live == wanted


def settings_file(desired: DesiredSettings, config_name: str) -> str:
    """The text of the ConfigMap key the pods read at start-up (BPLAB_SETTINGS_FILE)."""
    header = (
        f"# Written by the backpressure-lab operator from BackpressureConfig {config_name}.\n"
        "# Pods read this file when they start; running pods get the same settings over HTTP.\n"
    )
    return header + yaml.safe_dump(desired.document(), sort_keys=False)
