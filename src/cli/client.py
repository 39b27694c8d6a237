"""Reads the running lab over HTTP (local mode or NodePorts/port-forward); every failure is one clear line."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from backpressure_lab.cli.exercises import Burst


class LabError(Exception):
    """A problem the user can fix, said in one line."""


@dataclass(frozen=True)
class LabClient:
    producer_url: str
    consumer_url: str
    token: str | None = None

    def _request(self, method: str, url: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                payload = response.read()
                return json.loads(payload) if payload.startswith((b"{", b"[")) else payload.decode()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:200]
            if error.code == 401:
                raise LabError(f"{url} needs the admin token: pass --token or set BPLAB_ADMIN_TOKEN") from None
            raise LabError(f"{method} {url} answered {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            base = url.split("/", 3)[:3]
            raise LabError(
                f"the lab is not reachable at {'/'.join(base)} ({getattr(error, 'reason', error)}): "
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
            with urllib.request.urlopen(request, timeout=5) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise LabError(f"POST {request.full_url} answered {error.code}") from None
            status, headers, body = error.code, error.headers, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise LabError(f"POST {request.full_url} failed: {getattr(error, 'reason', error)}") from None
        reply = json.loads(body)
        return Burst(count, status, int(reply["rejected"]), headers.get("Retry-After"))

    def producer_config(self) -> dict[str, Any]:
        """The producer's settings as set (GET /admin/config)."""
        reply: dict[str, Any] = self._request("GET", self.producer_url + "/admin/config")
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
