"""What a JSON endpoint reads (common/http.py) and what an error echoes (common/echo.py), without sockets."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import JSONResponse

from backpressure_lab.common.echo import echo
from backpressure_lab.common.http import (
    BODY_READ_SECONDS,
    MAX_JSON_DEPTH,
    ClientError,
    FastJSONResponse,
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


def plain_walk(document: object) -> str | None:
    """json_problem as it was before it spelled out only the paths it needs: every value's path, one stack entry
    each. The reference its answers are held to."""
    stack: list[tuple[object, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"{path or 'the document'} nests deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(value, str):
            if not valid_unicode(value):
                return f"{path or 'the document'} is not valid Unicode (it holds a lone surrogate such as \\ud800)"
        elif isinstance(value, dict):
            children: list[tuple[object, str, int]] = []
            for key, item in value.items():
                if isinstance(key, str) and not valid_unicode(key):
                    return f"a field name in {path or 'the document'} is not valid Unicode (it holds a lone surrogate)"
                children.append((item, f"{path}.{key}" if path else str(key), depth + 1))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend((value[index], f"{path}[{index}]", depth + 1) for index in reversed(range(len(value))))
    return None


def valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def nested(value: object, levels: int) -> object:
    for _ in range(levels):
        value = [value]
    return value


_TEXTS = st.sampled_from(["", "a", "é", "\ud800", "\udfff", "ok\U0001f600"]) | st.text(max_size=3)
_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXTS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_TEXTS | st.integers(0, 3), children, max_size=4)
        | st.builds(nested, children, st.integers(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 2))
    ),
    max_leaves=30,
)


@given(_DOCUMENTS)
def test_json_problem_names_what_the_plain_walk_names(document: object) -> None:
    assert json_problem(document) == plain_walk(document)


_ANSWERS = st.dictionaries(
    st.text(max_size=5),
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    max_size=5,
)


@given(_ANSWERS, st.sampled_from([200, 400, 503]))
def test_the_quick_json_response_is_starlettes_byte_for_byte(content: dict[str, object], status: int) -> None:
    quick, starlettes = FastJSONResponse(content, status), JSONResponse(content, status)
    assert (quick.body, quick.raw_headers, quick.status_code) == (
        starlettes.body,
        starlettes.raw_headers,
        starlettes.status_code,
    )


def test_the_quick_json_response_refuses_what_starlettes_refuses() -> None:
    for content in ({"a": math.nan}, {"a": math.inf}):
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            FastJSONResponse(content)
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            JSONResponse(content)
