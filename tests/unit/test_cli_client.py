"""The CLI's HTTP client against a real loopback server that goes away and comes back: a service that answered
before may refuse connections for a moment (a Service whose pods are being scaled); one that never answered fails
at once, in one line."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backpressure_lab.cli.client import RECONNECT_PAUSE_SECONDS, LabClient, LabError
from tests.ports import free_port


class StatusHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"state": {"items_processed": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Service:
    """A status endpoint on a fixed port that can be stopped (connections refused) and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), StatusHandler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def service() -> Iterator[Service]:
    running = Service(free_port())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def client_for(port: int, pauses: list[float], on_pause: Callable[[], None] | None = None) -> LabClient:
    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if on_pause is not None:
            on_pause()

    url = f"http://127.0.0.1:{port}"
    return LabClient(url, url, pause=pause)


def test_a_service_that_answered_is_retried_while_it_refuses_and_read_when_back(service: Service) -> None:
    pauses: list[float] = []
    client = client_for(service.port, pauses, on_pause=service.start)
    assert client.consumer_status()["state"]["items_processed"] == 1
    service.stop()
    assert client.consumer_status()["state"]["items_processed"] == 1  # refused once, paused, started again, read
    assert pauses == [RECONNECT_PAUSE_SECONDS]


def test_a_service_that_never_answered_fails_at_once_in_one_line() -> None:
    pauses: list[float] = []
    client = client_for(free_port(), pauses)
    with pytest.raises(LabError) as raised:
        client.consumer_status()
    assert pauses == []
    assert "the lab is not reachable" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_service_that_stays_away_is_given_up_on_with_the_same_line(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    client = client_for(service.port, pauses)
    client.producer_status()
    service.stop()
    monkeypatch.setattr("backpressure_lab.cli.client.RECONNECT_SECONDS", 0.0)
    with pytest.raises(LabError, match="the lab is not reachable"):
        client.producer_status()
    assert pauses == []  # the grace is over at once: no pause, the one-line error
