"""HTTP edges shared by both services: JSON bodies with clear 4xx errors, and the admin bearer token.

Every JSON endpoint reads its body through `read_json_object`, so the limits on what a request may send hold in one
place: the body's size (413), the time its bytes may take to arrive (408, then the connection is closed, so a
Content-Length longer than the body cannot hold a connection open), JSON's nesting depth and valid Unicode (400).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from collections.abc import Iterator
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from backpressure_lab.common.echo import cut, echo
from backpressure_lab.common.read_deadlines import ReadDeadlines

JSON_BODY_LIMIT = 1024 * 1024
"""Bytes a settings or /produce body may have: the largest real one is under 2 KB."""
BODY_READ_SECONDS = 5.0
"""How long the whole body may take to arrive once the headers are in (kept to within a tenth of a second)."""
MAX_JSON_DEPTH = 32
"""Nesting levels a body may have: the deepest real one has 2 ({"endpoints": [...]})."""
MESSAGE_LIMIT = 2000
"""Characters of one error message: a body with thousands of bad fields gets the first problems, not all of them."""


class FastJSONResponse(JSONResponse):
    """Starlette's JSONResponse byte for byte, rendered by one encoder made once: json.dumps given its arguments
    builds a new encoder at every call, a microsecond of every /process answer."""

    def render(self, content: Any) -> bytes:
        return _RESPONSE_ENCODER.encode(content).encode("utf-8")


_RESPONSE_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
"""The arguments Starlette's JSONResponse.render passes json.dumps."""


class ClientError(Exception):
    """A request the client must fix: answered with `status` and a JSON `{"error": message}`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


async def read_json_object(
    request: Request, example: str, limit: int = JSON_BODY_LIMIT, *, empty_means: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx that says what is wrong and shows an example of what to send.

    An empty body is a 400, unless `empty_means` says what it stands for (a bare POST /admin/slow-down: `{}`).
    """
    body = await read_body(request, limit)
    if not body or body.isspace():
        if empty_means is not None:
            return dict(empty_means)
        raise ClientError(400, f"request body is empty; send a JSON object such as {example}")
    try:
        data = _DECODER.decode(body.decode(_encoding(body), "surrogatepass"))
    except RecursionError:
        raise ClientError(
            400, f"request body nests deeper than {MAX_JSON_DEPTH} levels; send a JSON object such as {example}"
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ClientError(
            400, f"request body is not valid JSON ({cut(str(error), 200)}); send a JSON object such as {example}"
        ) from None
    if not isinstance(data, dict):
        raise ClientError(400, f"request body must be a JSON object such as {example}, not {type(data).__name__}")
    problem = json_problem(data)
    if problem is not None:
        raise ClientError(400, f"{problem}; send a JSON object such as {example}")
    return data


async def read_body(request: Request, limit: int) -> bytes:
    """The body's bytes: at most `limit` (else 413), all within BODY_READ_SECONDS (else 408, closing the connection)."""
    declared = _content_length(request)
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    task = _READ_DEADLINES.start(BODY_READ_SECONDS)
    cancels_before = task.cancelling()
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
    except ClientDisconnect:  # nobody is left to read the answer; a 400 ends the request without a traceback
        raise ClientError(400, f"the client disconnected after {size:,} bytes of the body") from None
    except asyncio.CancelledError:
        # As asyncio.timeout does: the cancellation is ours only when no other one is pending (a stop's, say).
        if not (_READ_DEADLINES.finish(task) and task.uncancel() <= cancels_before):
            raise
        raise ClientError(
            408,
            f"request body did not arrive within {BODY_READ_SECONDS:g} s ({size:,} bytes came, Content-Length said "
            f"{declared or 'nothing'}); send the whole body at once",
            {"Connection": "close"},
        ) from None
    finally:
        _READ_DEADLINES.finish(task)
    return b"".join(chunks)


_READ_DEADLINES = ReadDeadlines()


def _content_length(request: Request) -> str:
    """`request.headers.get("content-length", "")`, read from the scope's list: `Request.headers` builds a Headers
    object first, a microsecond per item on /process."""
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    for name, value in headers:
        if name == b"content-length":
            return value.decode("latin-1")
    return ""


def _encoding(body: bytes) -> str:
    """json.detect_encoding's answer, at once for what nearly every body starts with: "{" and a byte that is not 0,
    which no byte-order mark and no UTF-16 or UTF-32 text does."""
    if body[:1] == b"{" and body[1:2] not in (b"", b"\x00"):
        return "utf-8"
    return json.detect_encoding(body)


def _too_large(size: int, limit: int) -> ClientError:
    return ClientError(
        413, f"request body is {size:,} bytes or more; this endpoint reads at most {limit:,}", {"Connection": "close"}
    )


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {echo(text, 40)} is too large")
    return number


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
"""json.loads with these hooks, made once: json.loads builds a new decoder at every call that passes one."""


def json_problem(document: object) -> str | None:
    """What makes a parsed JSON (or YAML) document unusable, naming where: too deep, or a string that is not valid
    Unicode (a lone surrogate, from a "\\ud800" escape, cannot be encoded in any response or log). None when fine.

    Depth first in document order, with a stack of the containers under way rather than recursion; a value's path is
    spelled out only for a container or a problem, since nearly every value is a fine number or ASCII string."""
    problem = _own_problem(document, "", 0)
    if problem is not None or not isinstance(document, dict | list):
        return problem
    stack: list[tuple[Iterator[tuple[object, object]], str, int, bool]] = [_walk(document, "", 1)]
    while stack:
        children, parent, depth, indexed = stack[-1]
        for label, child in children:
            if depth <= MAX_JSON_DEPTH:
                if isinstance(child, str):
                    if _valid_unicode(child):
                        continue
                elif not isinstance(child, dict | list):
                    continue
            path = f"{parent}[{label}]" if indexed else (f"{parent}.{label}" if parent else str(label))
            problem = _own_problem(child, path, depth)
            if problem is not None:
                return problem
            if isinstance(child, dict | list):
                stack.append(_walk(child, path, depth + 1))
                break
        else:
            stack.pop()
    return None


def _walk(
    container: dict[object, object] | list[object], path: str, depth: int
) -> tuple[Iterator[tuple[object, object]], str, int, bool]:
    """The container's children with their labels (keys or indices), its path, the children's depth, and whether
    the labels are indices."""
    if isinstance(container, dict):
        return iter(container.items()), path, depth, False
    return enumerate(container), path, depth, True


def _own_problem(value: object, path: str, depth: int) -> str | None:
    """The value's problem without looking into its children: too deep, not valid Unicode, or a field name that is
    not (all of a mapping's names are checked before any of its values)."""
    if depth > MAX_JSON_DEPTH:
        return f"{path or 'the document'} nests deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, str):
        if not _valid_unicode(value):
            return f"{path or 'the document'} is not valid Unicode (it holds a lone surrogate such as \\ud800)"
    elif isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and not _valid_unicode(key):
                return f"a field name in {path or 'the document'} is not valid Unicode (it holds a lone surrogate)"
    return None


def _valid_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_admin(request: Request, token: str | None) -> None:
    """When the service was given an admin token, /admin/* needs it as a bearer token."""
    if token is None:
        return
    supplied = request.headers.get("authorization", "")
    scheme, _, value = supplied.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise ClientError(
            401,
            "admin endpoints need 'Authorization: Bearer <token>' (the token is in the release's admin Secret; "
            "with kubectl apply of a BackpressureConfig the operator sends it for you)",
            {"WWW-Authenticate": "Bearer"},
        )


async def client_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClientError)
    return JSONResponse({"error": cut(exc.message, MESSAGE_LIMIT)}, status_code=exc.status, headers=exc.headers)


async def http_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else f"no such endpoint: {request.method} {request.url.path}"
    return JSONResponse({"error": cut(message, MESSAGE_LIMIT)}, status_code=exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS: dict[Any, Any] = {ClientError: client_error_response, HTTPException: http_error_response}
