"""The start-up settings file (common/service.py): whatever is in it, one line and exit status 2, at once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from backpressure_lab.common.service import (
    MAX_SETTINGS_FILE_BYTES,
    StartupError,
    fail_startup,
    load_settings_file,
)
from backpressure_lab.producer.settings import ProducerSettings

ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["producer: {production_rate: *i}"]
)

HOSTILE = [
    (b"producer:\n  production_rate: 1" + b"0" * 400 + b"\n", "production_rate must be"),
    (b"producer:\n  production_rate: 1" + b"0" * 5000 + b"\n", "settings file"),
    (b"producer:\n  queue_mode: \xff\xfe\n", "is not UTF-8 text (byte 24: invalid start byte)"),
    (b"producer: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nests deeper than 32 levels"),
    (b"{not: yaml: at all", "line 1, column 11: while parsing a flow mapping; expected ',' or '}', but got ':'"),
    (ALIAS_BOMB.encode(), "line 2, column 8: YAML aliases (*name) are not allowed"),
    (b'producer: {queue_mode: "\\ud800"}\n', "producer.queue_mode is not valid Unicode"),
    (b"producer: {queue_mode: " + b"x" * 30_000 + b"}\n", "... (30,000 characters)"),
    (b"# " + b"x" * MAX_SETTINGS_FILE_BYTES + b"\n", f"is larger than {MAX_SETTINGS_FILE_BYTES:,} bytes"),
    (b"producer: !!python/object:os.system {}\n", "could not determine a constructor"),
    (b"producer:\n  rate_limit: .nan\n", "rate_limit must be"),
]


@pytest.mark.parametrize(("content", "message"), HOSTILE)
def test_a_hostile_settings_file_is_one_line_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_bytes(content)
    started = time.monotonic()
    with pytest.raises(StartupError) as caught:
        load_settings_file(path, "producer", ProducerSettings())
    with pytest.raises(SystemExit) as exited:
        fail_startup(caught.value)
    assert time.monotonic() - started < 1.0
    assert exited.value.code == 2
    line = capsys.readouterr().err
    assert line.count("\n") == 1, line
    assert line.startswith(f"error: settings file {path}")
    assert message in line
    assert len(line) < 1100
