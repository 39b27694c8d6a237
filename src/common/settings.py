"""One declaration per runtime setting: name, type, bounds, default and meaning, reused by every layer.

A service's settings are a frozen dataclass whose fields are declared with `setting(...)`. From that one declaration
this module derives the HTTP validation (`apply_changes`), the custom resource's OpenAPI schema and the chart's values
schema (`json_schema`), so a bound can never differ between `curl`, `kubectl apply` and `helm install`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast, overload

from backpressure_lab.common.echo import echo

Kind = Literal["integer", "number", "boolean", "string"]
SettingValue = int | float | bool | str

T = TypeVar("T", int, float, bool, str)
S = TypeVar("S")

_META_KEY = "backpressure_lab.setting"


@dataclass(frozen=True)
class Bounds:
    """What a setting accepts. Bounds are inclusive unless `exclusive_minimum` is set."""

    kind: Kind
    description: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str | int, ...] = ()
    """Strings for a string setting, integers for an integer setting that takes only a few values."""

    def allowed(self) -> str:
        """The allowed range in words, for error messages and docs."""
        if self.kind == "boolean":
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(str(choice) for choice in self.choices)
        kind = "an integer" if self.kind == "integer" else "a number"
        low = (
            ""
            if self.minimum is None
            else (f"> {_fmt(self.minimum)}" if self.exclusive_minimum else f">= {_fmt(self.minimum)}")
        )
        high = "" if self.maximum is None else f"<= {_fmt(self.maximum)}"
        return " ".join(part for part in (kind, " and ".join(p for p in (low, high) if p)) if part)


Comparison = Literal["<", "<="]


@dataclass(frozen=True)
class CrossFieldRule:
    """A rule between two settings, declared once as `left op right`: the services' 400, the CRD's CEL rule and the
    chart's `helm install` check (tools/validate_template.py) are all derived from it, each reading an omitted setting
    as its default, so one side of a pair alone is judged as the services would judge it."""

    left: str
    op: Comparison
    right: str

    @property
    def fields(self) -> tuple[str, str]:
        return (self.left, self.right)

    @property
    def message(self) -> str:
        return f"{self.left} must be {self.op} {self.right}"

    def holds(self, settings: object) -> bool:
        left, right = getattr(settings, self.left), getattr(settings, self.right)
        return bool(left < right if self.op == "<" else left <= right)

    @property
    def cel(self) -> str:
        """The comparison in CEL over the custom resource's camelCase fields (both present)."""
        return f"self.{camel(self.left)} {self.op} self.{camel(self.right)}"


class SettingsError(ValueError):
    """Bad settings input. `problems` holds one message per bad field, each naming the field and what it accepts."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def setting(
    default: T,
    description: str,
    *,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    choices: Iterable[str | int] = (),
) -> T:
    """Declare a dataclass field as a runtime setting (used as `field: float = setting(10.0, ...)`)."""
    kind: Kind
    if isinstance(default, bool):
        kind = "boolean"
    elif isinstance(default, int):
        kind = "integer"
    elif isinstance(default, float):
        kind = "number"
    else:
        kind = "string"
    bounds = Bounds(kind, description, unit, minimum, maximum, exclusive_minimum, tuple(choices))
    declared_field: T = dataclasses.field(default=default, metadata={_META_KEY: bounds})
    return declared_field


def declared(settings_type: type[Any]) -> dict[str, Bounds]:
    """The declared settings of a settings dataclass, by field name, in declaration order."""
    return {f.name: f.metadata[_META_KEY] for f in dataclasses.fields(settings_type) if _META_KEY in f.metadata}


def rules_of(settings_type: type[Any]) -> tuple[CrossFieldRule, ...]:
    return cast(tuple[CrossFieldRule, ...], getattr(settings_type, "RULES", ()))


# A number closer to 0 than this (but not 0) is refused: derived figures such as 1 / rate or a Retry-After would
# overflow a float or print a hundred digits, and no lesson needs a setting that small.
SMALLEST_MAGNITUDE = 1e-6


def _boolean(raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in {"true", "false"}:
        return raw.strip().lower() == "true"
    return None


def _parse_number(raw: object) -> float | None:
    """A JSON or YAML number, or a numeric string as the original lab accepted ("20"); None when it is neither or
    does not fit a float (a 400-digit integer)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if not text or len(text) > 40:
            return None
        try:
            raw = float(text)
        except ValueError:
            return None
    if not isinstance(raw, int | float):
        return None
    try:
        number = float(raw)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def check_value(name: str, bounds: Bounds, raw: object) -> SettingValue:
    """Validate one raw (JSON or YAML) value and return it with its declared type, or raise SettingsError."""
    problem = f"{name} must be {bounds.allowed()} (got {echo(raw)})"
    if bounds.kind == "boolean":
        flag = _boolean(raw)
        if flag is None:
            raise SettingsError([problem])
        return flag
    if bounds.kind == "string":
        if not isinstance(raw, str) or (bounds.choices and raw not in bounds.choices):
            raise SettingsError([problem])
        return raw
    number = _parse_number(raw)
    if number is None:
        raise SettingsError([problem])
    if bounds.kind == "integer" and not number.is_integer():
        raise SettingsError([problem])
    if 0 < abs(number) < SMALLEST_MAGNITUDE:
        raise SettingsError([f"{problem}; values closer to 0 than {SMALLEST_MAGNITUDE:g} are not accepted"])
    if bounds.minimum is not None and (
        number <= bounds.minimum if bounds.exclusive_minimum else number < bounds.minimum
    ):
        raise SettingsError([problem])
    if bounds.maximum is not None and number > bounds.maximum:
        raise SettingsError([problem])
    if bounds.choices and number not in bounds.choices:
        raise SettingsError([problem])
    return int(number) if bounds.kind == "integer" else number


def apply_changes(current: S, changes: Mapping[str, object]) -> S:
    """Return `current` with `changes` applied, after checking every field and every cross-field rule.

    Nothing is applied unless everything is valid: a bad request changes no setting.
    """
    settings_type = type(current)
    declaration = declared(settings_type)
    problems: list[str] = []
    typed: dict[str, SettingValue] = {}
    for name, raw in changes.items():
        bounds = declaration.get(name)
        if bounds is None:
            problems.append(f"unknown setting {echo(name)}; allowed settings: {', '.join(declaration)}")
            continue
        try:
            typed[name] = check_value(name, bounds, raw)
        except SettingsError as error:
            problems.extend(error.problems)
    if problems:
        raise SettingsError(problems)
    updated = dataclasses.replace(current, **typed)  # type: ignore[type-var]
    broken = [rule.message for rule in rules_of(settings_type) if not rule.holds(updated)]
    if broken:
        raise SettingsError(broken)
    return updated


@overload
def plain(value: float) -> int | float: ...
@overload
def plain(value: SettingValue) -> SettingValue: ...
def plain(value: SettingValue) -> SettingValue:
    """A setting as JSON shows it: a whole number as an integer (10, not 10.0), as the original lab's clients read."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_dict(settings: object) -> dict[str, SettingValue]:
    return {name: plain(getattr(settings, name)) for name in declared(type(settings))}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def json_schema(
    settings_type: type[Any],
    *,
    camel_case: bool = False,
    with_defaults: bool = True,
    dialect: Literal["openapi", "draft-07"] = "openapi",
) -> dict[str, Any]:
    """An OpenAPI v3 / JSON Schema object for the settings: types, bounds, enums, descriptions, CEL rules.

    `camel_case=True` gives the custom resource's field names; the chart's values schema and the HTTP API use the
    declared snake_case names. Kubernetes speaks OpenAPI v3.0 (a boolean `exclusiveMinimum`); Helm's values schema is
    JSON Schema draft-07 (a numeric one).
    """
    properties: dict[str, Any] = {}
    defaults = {f.name: f.default for f in dataclasses.fields(settings_type)}
    for name, bounds in declared(settings_type).items():
        default = defaults[name]
        prop: dict[str, Any] = {"type": bounds.kind}
        description = bounds.description + (f" ({bounds.unit})" if bounds.unit else "")
        prop["description"] = f"{description}. Allowed: {bounds.allowed()}. Default: {_json_default(default)}."
        if bounds.choices:
            prop["enum"] = list(bounds.choices)
        if bounds.minimum is not None:
            low = _number(bounds.minimum, bounds.kind)
            if not bounds.exclusive_minimum:
                prop["minimum"] = low
            elif dialect == "openapi":
                prop["minimum"] = low
                prop["exclusiveMinimum"] = True
            else:
                prop["exclusiveMinimum"] = low
        if bounds.maximum is not None:
            prop["maximum"] = _number(bounds.maximum, bounds.kind)
        if with_defaults:
            prop["default"] = default
        properties[camel(name) if camel_case else name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    rules = rules_of(settings_type)
    if camel_case and rules:
        schema["x-kubernetes-validations"] = [
            {"rule": f"!has(self.{camel(rule.left)}) || !has(self.{camel(rule.right)}) || {rule.cel}",
             "message": rule.message}
            for rule in rules
        ]  # fmt: skip
    return schema


def _number(value: float, kind: Kind) -> int | float:
    return int(value) if kind == "integer" or float(value).is_integer() else value


def _json_default(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
