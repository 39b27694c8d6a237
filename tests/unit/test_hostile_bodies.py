"""What a JSON endpoint reads (common/http.py) and what an error echoes (common/echo.py), without sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import pytest
from starlette.requests import Request

from backpressure_lab.common.echo import echo
from backpressure_lab.common.http import (
    BODY_READ_SECONDS,
    MAX_JSON_DEPTH,
    ClientError,
    json_problem,
    read_json_object,
)


def request_with(chunks: Iterable[bytes], content_length: int | None = None, stall: bool = False) -> Request:
    """A Starlette request whose body arrives as `chunks`; `stall`: then nothing more ever comes."""
    pending = list(chunks)
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or stall}
        if stall:
            await asyncio.sleep(3600)
        return {"type": "http.request", "body": b"", "more_body": False}

    return Request({"type": "http", "method": "POST", "path": "/x", "headers": headers}, receive)


def read(body: bytes, **kwargs: Any) -> dict[str, Any]:
    return asyncio.run(read_json_object(request_with([body]), '{"a": 1}', **kwargs))


def refusal(body: bytes, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        read(body, **kwargs)
    return caught.value


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_deep_json_is_a_400_that_names_the_nesting(depth: int) -> None:
    error = refusal(b'{"endpoints": ' + b"[" * depth + b"]" * depth + b"}")
    assert error.status == 400
    assert f"nests deeper than {MAX_JSON_DEPTH} levels" in error.message


def test_json_as_deep_as_allowed_is_read() -> None:
    depth = MAX_JSON_DEPTH - 1
    assert read(b'{"a": ' + b"[" * depth + b"]" * depth + b"}")["a"] is not None


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"endpoints": ["http://a\\ud800b:1"]}', "endpoints[0] is not valid Unicode"),
        (b'{"id": "\\udfff"}', "id is not valid Unicode"),
        (b'{"a": {"b": [1, "ok", "\\ud83d"]}}', "a.b[2] is not valid Unicode"),
        (b'{"\\ud800": 1}', "a field name in the document is not valid Unicode"),
        (b'{"id": "\xed\xa0\x80"}', "id is not valid Unicode"),
    ],
)
def test_a_lone_surrogate_is_a_400_that_names_where(body: bytes, where: str) -> None:
    error = refusal(body)
    assert error.status == 400
    assert where in error.message


def test_a_surrogate_pair_is_valid_unicode() -> None:
    assert read(b'{"id": "\\ud83d\\ude00"}') == {"id": "\U0001f600"}


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400}'])
def test_numbers_json_cannot_carry_are_refused(body: bytes) -> None:
    error = refusal(body)
    assert error.status == 400
    assert "not valid JSON" in error.message


def test_a_body_over_the_limit_is_a_413_whether_or_not_it_declares_its_length() -> None:
    body = json.dumps({"a": "x" * 2000}).encode()
    declared = asyncio.run(_refused(request_with([body], content_length=len(body)), limit=1000))
    assert declared.status == 413
    assert "at most 1,000" in declared.message
    undeclared = asyncio.run(_refused(request_with([body[:600], body[600:]]), limit=1000))
    assert undeclared.status == 413
    assert undeclared.headers == {"Connection": "close"}


def test_a_body_that_stops_arriving_is_a_408_that_closes_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backpressure_lab.common.http.BODY_READ_SECONDS", 0.2)
    error = asyncio.run(_refused(request_with([b'{"a": '], content_length=100, stall=True)))
    assert error.status == 408
    assert error.headers == {"Connection": "close"}
    assert "did not arrive within 0.2 s" in error.message
    assert BODY_READ_SECONDS <= 10


def test_an_empty_body_can_mean_something() -> None:
    assert read(b"", empty_means={}) == {}
    assert refusal(b"  ").status == 400


async def _refused(request: Request, limit: int = 1024 * 1024) -> ClientError:
    with pytest.raises(ClientError) as caught:
        await read_json_object(request, "{}", limit)
    return caught.value


def test_json_problem_walks_without_recursion() -> None:
    deep: list[Any] = []
    for _ in range(50_000):
        deep = [deep]
    assert json_problem(deep) == "[0]" * (MAX_JSON_DEPTH + 1) + f" nests deeper than {MAX_JSON_DEPTH} levels"
    assert json_problem({"a": [1, 2.5, None, True, "é"]}) is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x" * 50_000_000, "'" + "x" * 100 + "'... (50,000,000 characters)"),
        ("short", "'short'"),
        ("\ud800", "'\\ud800'"),
        (10**400, "1" + "0" * 99 + "... (401 digits)"),
        (-(10**400), "-1" + "0" * 98 + "... (401 digits)"),
        (1e-310, "1e-310"),
        (None, "None"),
        (True, "True"),
        ([[[[[[1]]]]]], "[[[[...]]]] (1 item)"),
        (list(range(1000)), "[0, 1, 2, 3, 4, 5, ...] (1,000 items)"),
    ],
)
def test_echo_cuts_what_it_repeats(value: object, shown: str) -> None:
    assert echo(value) == shown


def test_echo_of_huge_or_deep_values_stays_short() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    for value in (deep, {"k" * 10_000: "v" * 10_000}, ["x" * 10_000] * 10_000, b"b" * 10_000):
        assert len(echo(value)) < 150


def test_a_client_that_disconnects_mid_body_is_a_400_not_a_traceback() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    request = Request({"type": "http", "method": "POST", "path": "/x", "headers": []}, receive)
    error = asyncio.run(_refused(request))
    assert error.status == 400
    assert "disconnected" in error.message
