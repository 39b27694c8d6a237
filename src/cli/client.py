"""Reads the running lab over HTTP (local mode or NodePorts/port-forward); every failure is one clear line."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPResponse
from typing import Any

from backpressure_lab.cli.exercises import Burst

RECONNECT_SECONDS = 10.0
"""How long a service that has answered may refuse connections before a command gives up on it: a Service whose pods
are being scaled or restarted (exercise 14, the OOM lesson) routes to a leaving pod for a moment. A service that never
answered fails at once: the lab is not running."""
RECONNECT_PAUSE_SECONDS = 0.25


class LabError(Exception):
    """A problem the user can fix, said in one line."""


def _origin(url: str) -> str:
    return "/".join(url.split("/", 3)[:3])


def _transient(error: OSError, request: urllib.request.Request) -> bool:
    """A refused connection never reached the service, so any request may be sent again; a reset one may have, so
    only a read or an admin call (both safe to repeat) is."""
    reason = getattr(error, "reason", error)
    repeatable = request.get_method() == "GET" or "/admin/" in request.full_url
    return isinstance(reason, ConnectionRefusedError) or (repeatable and isinstance(reason, ConnectionResetError))


@dataclass(frozen=True)
class LabClient:
    producer_url: str
    consumer_url: str
    token: str | None = None
    pause: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    _answered: set[str] = field(default_factory=set, repr=False, compare=False)

    def _open(self, request: urllib.request.Request) -> HTTPResponse:
        origin = _origin(request.full_url)
        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                response: HTTPResponse = urllib.request.urlopen(request, timeout=5)
            except urllib.error.HTTPError:
                self._answered.add(origin)
                raise
            except (urllib.error.URLError, OSError) as error:
                if origin not in self._answered or not _transient(error, request) or time.monotonic() >= deadline:
                    raise
                self.pause(RECONNECT_PAUSE_SECONDS)
                continue
            self._answered.add(origin)
            return response

    def _request(self, method: str, url: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._open(request) as response:
                payload = response.read()
                return json.loads(payload) if payload.startswith((b"{", b"[")) else payload.decode()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:200]
            if error.code == 401:
                raise LabError(f"{url} needs the admin token: pass --token or set BPLAB_ADMIN_TOKEN") from None
            raise LabError(f"{method} {url} answered {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise LabError(
                f"the lab is not reachable at {_origin(url)} ({getattr(error, 'reason', error)}): "
                "start it with `make local` (no cluster) or `make up` (kind)"
            ) from None

    def producer_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self._request("GET", self.producer_url + "/status")
        return status

    def consumer_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self._request("GET", self.consumer_url + "/status")
        return status

    def produce(self, count: int) -> Burst:
        """POST /produce as a client of the producer would: a 429 is an answer here, not an error."""
        request = urllib.request.Request(
            self.producer_url + "/produce",
            data=json.dumps({"count": count}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._open(request) as response:
                status, retry_after, body = response.status, response.headers.get("Retry-After"), response.read()
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise LabError(f"POST {request.full_url} answered {error.code}") from None
            status, retry_after, body = error.code, error.headers.get("Retry-After"), error.read()
        except (urllib.error.URLError, OSError) as error:
            raise LabError(f"POST {request.full_url} failed: {getattr(error, 'reason', error)}") from None
        reply = json.loads(body)
        return Burst(count, status, int(reply["rejected"]), retry_after)

    def producer_config(self) -> dict[str, Any]:
        """The producer's settings as set (GET /admin/config)."""
        reply: dict[str, Any] = self._request("GET", self.producer_url + "/admin/config")
        config: dict[str, Any] = reply["config"]
        return config

    def consumer_config(self) -> dict[str, Any]:
        """The consumer's settings as set (GET /admin/config)."""
        reply: dict[str, Any] = self._request("GET", self.consumer_url + "/admin/config")
        config: dict[str, Any] = reply["config"]
        return config

    def metrics(self, which: str) -> str:
        text: str = self._request("GET", (self.producer_url if which == "producer" else self.consumer_url) + "/metrics")
        return text

    def configure(self, producer: dict[str, Any], consumer: dict[str, Any]) -> None:
        self._request("POST", self.consumer_url + "/admin/config", consumer)
        self._request("POST", self.producer_url + "/admin/config", producer)

    def clear_queue(self) -> int:
        reply: dict[str, Any] = self._request("POST", self.producer_url + "/admin/clear-queue", {})
        return int(reply["items_removed"])


def counter_total(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of a counter's samples whose labels include `labels` (Prometheus text format)."""
    total = 0.0
    for line in metrics_text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if all(f'{key}="{val}"' in series for key, val in labels.items()):
            total += float(value)
    return total
