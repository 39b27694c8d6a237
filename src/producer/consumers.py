"""Where the sender delivers: the consumer Service by default, or each ready consumer pod the operator lists.

Behind one Service URL kube-proxy picks a pod per *connection*, and a pool of keep-alive connections can sit
unevenly on the pods: one answers 503 while another idles, and adding consumers adds little. When the operator lists
the ready consumer pods (PUT /admin/consumers), each send goes to the consumer with the fewest sends in flight (least
outstanding requests, as Envoy and Finagle balance), and the sender's concurrency is `sender_concurrency` per
listed consumer, so that scaling the consumers out really raises throughput.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from urllib.parse import SplitResult, urlsplit

from backpressure_lab.common.echo import echo

MAX_ENDPOINTS = 64
MAX_URL_LENGTH = 2048
EXAMPLE = '{"endpoints": ["http://10.244.0.7:8001", "http://10.244.0.9:8001"]}'
ALLOWED = (
    "a base URL: http:// or https://, a host name or IP address, an optional port from 1 to 65535, and no path, "
    "query or user, such as http://10.244.0.7:8001"
)
_HOST_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?")


class EndpointsError(ValueError):
    """A consumer list the producer cannot use; the message says what to send instead."""


def parse_endpoints(raw: object) -> tuple[str, ...]:
    """The consumer base URLs in a PUT /admin/consumers body's `endpoints`, checked; [] means "the Service again".

    Every element is checked before any is used: a list with one bad element changes nothing.
    """
    if not isinstance(raw, list):
        raise EndpointsError(f"endpoints must be a list of consumer base URLs such as {EXAMPLE} (got {echo(raw)})")
    if len(raw) > MAX_ENDPOINTS:
        raise EndpointsError(f"endpoints lists {len(raw)} consumers; at most {MAX_ENDPOINTS} are allowed")
    urls: list[str] = []
    for index, entry in enumerate(raw):
        url = base_url(entry)
        if url is None:
            raise EndpointsError(f"endpoints[{index}] must be {ALLOWED} (got {echo(entry)})")
        if url in urls:
            raise EndpointsError(f"endpoints[{index}]: {url} is listed twice")
        urls.append(url)
    return tuple(urls)


def base_url(entry: object) -> str | None:
    """`entry` without a trailing slash when it is a consumer base URL the sender can reach, else None."""
    if not isinstance(entry, str) or len(entry) > MAX_URL_LENGTH or not entry.isascii() or not entry.isprintable():
        return None
    if any(character.isspace() for character in entry):
        return None
    try:
        parts = urlsplit(entry)
        port = parts.port
    except ValueError:  # an unclosed "[", a port that is not a number or past 65535
        return None
    if parts.scheme not in {"http", "https"} or parts.path not in {"", "/"} or parts.query or parts.fragment:
        return None
    if parts.username is not None or parts.password is not None or port == 0 or not _valid_host(parts):
        return None
    return entry.rstrip("/")


def _valid_host(parts: SplitResult) -> bool:
    host = parts.hostname
    if not host:
        return False
    if "[" in parts.netloc:
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return _HOST_NAME.fullmatch(host) is not None


class ConsumerEndpoints:
    """The consumers to send to, and the sends in flight to each."""

    def __init__(self, service_url: str) -> None:
        self.service_url = service_url.rstrip("/")
        self._listed: tuple[str, ...] = ()
        self._urls: tuple[str, ...] = (self.service_url,)
        self._in_flight: dict[str, int] = {self.service_url: 0}
        self._turn = itertools.count()

    @property
    def listed(self) -> tuple[str, ...]:
        """What the operator listed (empty: it listed none, and the Service is used)."""
        return self._listed

    @property
    def urls(self) -> tuple[str, ...]:
        """The consumers sent to now: the listed ones, else the Service."""
        return self._urls

    @property
    def count(self) -> int:
        return len(self.urls)

    def replace(self, listed: tuple[str, ...]) -> None:
        """Use these consumers from the next send on; sends in flight to a removed one finish where they are."""
        self._listed = listed
        self._urls = listed or (self.service_url,)
        for url in self._urls:
            self._in_flight.setdefault(url, 0)

    def acquire(self) -> str:
        """The consumer for the next send: the fewest in flight, ties taken in turn."""
        urls = self._urls
        if len(urls) == 1:
            chosen = urls[0]
        else:
            start = next(self._turn) % len(urls)
            rotated = urls[start:] + urls[:start]
            chosen = min(rotated, key=lambda url: self._in_flight.get(url, 0))
        self._in_flight[chosen] = self._in_flight.get(chosen, 0) + 1
        return chosen

    def release(self, url: str) -> None:
        remaining = self._in_flight.get(url, 0) - 1
        if remaining > 0 or url in self._urls:
            self._in_flight[url] = max(remaining, 0)
        else:
            self._in_flight.pop(url, None)

    def in_flight(self) -> dict[str, int]:
        return {url: self._in_flight.get(url, 0) for url in self.urls}
