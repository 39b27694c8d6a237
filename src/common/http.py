"""HTTP edges shared by both services: JSON bodies with clear 4xx errors, and the admin bearer token."""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ClientError(Exception):
    """A request the client must fix: answered with `status` and a JSON `{"error": message}`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


async def read_json_object(request: Request, example: str) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that shows an example of what to send."""
    body = await request.body()
    if not body.strip():
        raise ClientError(400, f"request body is empty; send a JSON object such as {example}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ClientError(
            400, f"request body is not valid JSON ({error}); send a JSON object such as {example}"
        ) from None
    if not isinstance(data, dict):
        raise ClientError(400, f"request body must be a JSON object such as {example}, not {type(data).__name__}")
    return data


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
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


async def http_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else f"no such endpoint: {request.method} {request.url.path}"
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS: dict[Any, Any] = {ClientError: client_error_response, HTTPException: http_error_response}
