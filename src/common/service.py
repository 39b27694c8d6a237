"""How each service process starts: host, port, admin token and settings file from the environment."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from backpressure_lab.common.settings import SettingsError, apply_changes

S = TypeVar("S")


@dataclass(frozen=True)
class ServiceEnvironment:
    host: str
    port: int
    admin_token: str | None
    settings_file: Path | None

    @classmethod
    def read(cls, default_port: int) -> ServiceEnvironment:
        port_text = os.environ.get("BPLAB_PORT", str(default_port))
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise StartupError(f"BPLAB_PORT must be a port number from 1 to 65535 (got {port_text!r})")
        token = os.environ.get("BPLAB_ADMIN_TOKEN", "").strip() or None
        settings_file = os.environ.get("BPLAB_SETTINGS_FILE", "").strip()
        return cls(
            host=os.environ.get("BPLAB_HOST", "127.0.0.1"),
            port=int(port_text),
            admin_token=token,
            settings_file=Path(settings_file) if settings_file else None,
        )


class StartupError(Exception):
    """A configuration problem that stops the service at start with one line, not a traceback."""


def load_settings_file(path: Path | None, section: str, defaults: S) -> S:
    """The defaults with the file's `section` applied. The file is JSON or YAML: {"producer": {...}, "consumer": {...}}.

    The operator keeps this file in a ConfigMap, so a restarted pod comes back with the current settings.
    """
    if path is None:
        return defaults
    try:
        document: Any = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise StartupError(f"settings file {path} does not exist, nor does its folder") from None
        # A mounted ConfigMap volume that the operator has not filled yet: start on the defaults; the operator pushes
        # the current settings over the admin API as soon as this pod is ready.
        print(f"warning: settings file {path} not there yet: starting with the defaults", file=sys.stderr)
        return defaults
    except OSError as error:
        raise StartupError(f"cannot read settings file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise StartupError(f"settings file {path} is not valid JSON or YAML: {error}") from None
    if document is None:
        return defaults
    if not isinstance(document, dict):
        raise StartupError(f"settings file {path} must hold a mapping with '{section}' settings")
    changes = document.get(section) or {}
    if not isinstance(changes, dict):
        raise StartupError(f"settings file {path}: '{section}' must be a mapping of setting names to values")
    try:
        return apply_changes(defaults, changes)
    except SettingsError as error:
        raise StartupError(f"settings file {path}: {error}") from None


def fail_startup(error: StartupError) -> None:
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(2)
