"""How each service process starts and stops: host, port, admin token and settings file from the environment; uvicorn
with a bounded graceful stop.

A bad start-up setting stops the service at once with one line on stderr and exit status 2, never a traceback: the
settings file is read with a size cap, as UTF-8, with YAML aliases refused (a 1 KB alias bomb expands to gigabytes)
and its nesting bounded.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node

from backpressure_lab.common.echo import cut, echo
from backpressure_lab.common.http import MAX_JSON_DEPTH, json_problem
from backpressure_lab.common.settings import SettingsError, apply_changes

S = TypeVar("S")

MAX_SETTINGS_FILE_BYTES = 64 * 1024
"""A real settings file (every setting of both services) is under 2 KB."""
STOP_GRACE_SECONDS = 3
"""On SIGTERM, how long requests under way may take to finish before they are cut off. The producer then gives the
sends under way SEND_GRACE_SECONDS more (producer/runtime.py): both fit well inside the pods'
terminationGracePeriodSeconds (10 s, charts/backpressure-lab/templates/_service-pod.tpl)."""
LINE_LIMIT = 1000
"""Characters of the one start-up error line."""


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
            raise StartupError(f"BPLAB_PORT must be a port number from 1 to 65535 (got {echo(port_text)})")
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


class _SettingsLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases, and with the nesting bounded before Python's recursion limit is near."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, "YAML aliases (*name) are not allowed in a settings file", mark)
        self._depth += 1
        try:
            if self._depth > MAX_JSON_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, f"the document nests deeper than {MAX_JSON_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_settings_document(path: Path) -> Any:
    """The settings file's document (JSON or YAML), or a one-line StartupError. FileNotFoundError passes through."""
    with path.open("rb") as stream:
        data = stream.read(MAX_SETTINGS_FILE_BYTES + 1)
    if len(data) > MAX_SETTINGS_FILE_BYTES:
        raise StartupError(f"settings file {path} is larger than {MAX_SETTINGS_FILE_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise StartupError(f"settings file {path} is not UTF-8 text (byte {error.start}: {error.reason})") from None
    try:
        document = yaml.load(text, Loader=_SettingsLoader)  # a SafeLoader, without aliases
    except yaml.MarkedYAMLError as error:
        raise StartupError(f"settings file {path} is not valid JSON or YAML: {_one_line(error)}") from None
    except yaml.YAMLError as error:
        raise StartupError(f"settings file {path} is not valid JSON or YAML: {error}") from None
    except RecursionError:
        raise StartupError(f"settings file {path} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as error:  # a YAML scalar Python refuses, such as an integer of more than 4,300 digits
        reason = str(error).split(";")[0]  # not Python's advice to raise its limit
        raise StartupError(f"settings file {path} holds a value that cannot be read: {reason}") from None
    problem = json_problem(document)
    if problem is not None:
        raise StartupError(f"settings file {path}: {problem}")
    return document


def _one_line(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    what = "; ".join(part for part in (error.context, error.problem) if part)
    return where + what


def load_settings_file(path: Path | None, section: str, defaults: S) -> S:
    """The defaults with the file's `section` applied. The file is JSON or YAML: {"producer": {...}, "consumer": {...}}.

    The operator keeps this file in a ConfigMap, so a restarted pod comes back with the current settings.
    """
    if path is None:
        return defaults
    try:
        document = read_settings_document(path)
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise StartupError(f"settings file {path} does not exist, nor does its folder") from None
        # A mounted ConfigMap volume that the operator has not filled yet: start on the defaults; the operator pushes
        # the current settings over the admin API as soon as this pod is ready.
        print(f"warning: settings file {path} not there yet: starting with the defaults", file=sys.stderr)
        return defaults
    except OSError as error:
        raise StartupError(f"cannot read settings file {path}: {error.strerror}") from None
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
    except (ArithmeticError, ValueError, TypeError) as error:
        # Whatever a value does to the checks, the promise is one line: say which section and what went wrong.
        raise StartupError(f"settings file {path}: a '{section}' setting cannot be used ({error})") from None


def fail_startup(error: StartupError) -> None:
    print(f"error: {cut(' '.join(str(error).split()), LINE_LIMIT)}", file=sys.stderr)
    raise SystemExit(2)


class _DropCancelNotice(logging.Filter):
    """uvicorn logs "Cancel N running task(s), timeout graceful shutdown exceeded" as an error; the service's own stop
    line says what was cut off, in the lab's terms (items, not tasks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Cancel %s running task(s)")


YOUNG_COLLECTION_THRESHOLD = 5000
"""Objects made (and not yet freed) between two young collections; CPython's default is 700. A producer's queue takes
thousands of items a second, each a tracked object that lives until it is sent: at 700 each item was walked by two
collections on its way to the old generation. With this and Little's law's untracked departures, the producer's
collections during a 20,000-item drain fell from 0.58-0.84 to 0.21-0.36 µs per item (docs/performance.md); the
garbage a collection finds is at most a few megabytes more."""


def serve(app: Any, environment: ServiceEnvironment) -> None:
    """Run `app` with uvicorn until SIGTERM or SIGINT; requests under way get STOP_GRACE_SECONDS to finish."""
    logging.getLogger("uvicorn.error").addFilter(_DropCancelNotice())
    # What start-up made (modules, the app, its settings) lives as long as the process: frozen, it is out of every
    # later collection's walk, which then covers only what the service makes while it runs.
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
    uvicorn.run(
        app,
        host=environment.host,
        port=environment.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=STOP_GRACE_SECONDS,
    )
