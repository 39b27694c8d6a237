"""Hostile input against the real services: never a 5xx, never a traceback, nothing changed by a refused request.

Each fixed case of issue K has its regression test here; the property-based test at the end throws generated JSON
bodies (hostile numbers, lone surrogates, deep nesting, wrong types, unknown fields) at every endpoint that reads one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from backpressure_lab.common.http import BODY_READ_SECONDS, JSON_BODY_LIMIT, MAX_JSON_DEPTH
from backpressure_lab.common.settings import as_dict, declared
from backpressure_lab.consumer import app as consumer_app
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.consumer.work_item import ITEM_BODY_LIMIT
from backpressure_lab.producer import app as producer_app
from backpressure_lab.producer.settings import ProducerSettings
from tests.ports import free_port
from tests.services.lab import Lab, Reply, Service, call, running_lab, start_service, stop

pytestmark = pytest.mark.services

TOKEN = "hostile-test-token"
# A producer that cannot fill memory whatever a request admits: nothing generated, empty payloads, a small queue.
SAFE_PRODUCER = as_dict(ProducerSettings()) | {
    "production_rate": 0,
    "payload_bytes": 0,
    "queue_mode": "bounded",
    "max_queue_size": 50,
}
SAFE_CONSUMER = as_dict(ConsumerSettings()) | {"processing_time_ms": 0}

JSON_ENDPOINTS = [
    ("producer", "POST", "/admin/config"),
    ("producer", "PUT", "/admin/consumers"),
    ("producer", "POST", "/produce"),
    ("consumer", "POST", "/process"),
    ("consumer", "POST", "/admin/config"),
    ("consumer", "POST", "/admin/slow-down"),
    ("consumer", "POST", "/admin/speed-up"),
]


@pytest.fixture(scope="module")
def hostile_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    env = {"BPLAB_ADMIN_TOKEN": TOKEN}
    with running_lab(tmp_path_factory.mktemp("hostile"), producer_env=env, consumer_env=env) as lab:
        reset(lab)
        yield lab


def reset(lab: Lab) -> None:
    lab.producer.admin("/admin/config", SAFE_PRODUCER)
    assert send(lab.producer, "PUT", "/admin/consumers", {"endpoints": []}).status == 200
    lab.producer.admin("/admin/clear-queue", {})
    lab.consumer.admin("/admin/config", SAFE_CONSUMER)


def send(service: Service, method: str, path: str, body: object = None, raw: bytes | None = None) -> Reply:
    return call(method, service.url + path, body, raw=raw, token=TOKEN)


def service_of(lab: Lab, name: str) -> Service:
    return lab.producer if name == "producer" else lab.consumer


def no_traceback(lab: Lab) -> None:
    for service in lab.services:
        log = service.stderr()
        assert "Traceback" not in log, log[-3000:]
        assert "Exception in ASGI application" not in log, log[-3000:]


def raw_exchange(port: int, head: bytes, body: bytes, wait: float) -> tuple[bytes, float, bool]:
    """Send `head` and `body` on a raw socket; return what came back, after how long, and whether the server then
    closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        started = time.monotonic()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + body)
        answer = b""
        closed = False
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                answer += chunk
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            pass
        return answer, time.monotonic() - started, closed


# -------------------------------------------------------------------------------------------- fixed hostile cases


@pytest.mark.parametrize(("name", "method", "path"), JSON_ENDPOINTS)
def test_deep_json_is_a_400_naming_the_nesting(hostile_lab: Lab, name: str, method: str, path: str) -> None:
    for depth in (MAX_JSON_DEPTH + 1, 1_000, 100_000):
        raw = b'{"x": ' + b"[" * depth + b"]" * depth + b"}"
        reply = send(service_of(hostile_lab, name), method, path, raw=raw)
        assert reply.status == 400, reply
        assert f"nests deeper than {MAX_JSON_DEPTH} levels" in reply.body["error"]
    no_traceback(hostile_lab)


@pytest.mark.parametrize(("name", "method", "path"), JSON_ENDPOINTS)
def test_a_body_past_the_limit_is_a_413_at_once(hostile_lab: Lab, name: str, method: str, path: str) -> None:
    """A 50 MB body is refused from its Content-Length, before a byte of it is read."""
    service = service_of(hostile_lab, name)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: 50000000\r\n\r\n"
    ).encode()
    answer, seconds, closed = raw_exchange(service.port, head, b'{"x": "', wait=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    limit = ITEM_BODY_LIMIT if path == "/process" else JSON_BODY_LIMIT
    assert f"at most {limit:,}".encode() in answer
    assert closed
    assert seconds < 2


def test_a_body_past_the_limit_without_a_content_length_is_a_413(hostile_lab: Lab) -> None:
    body = json.dumps({"queue_mode": "x" * (JSON_BODY_LIMIT + 10)}).encode()
    head = (
        f"POST /admin/config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer, _, _ = raw_exchange(hostile_lab.producer.port, head, chunked, wait=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]


def test_the_largest_item_the_producer_sends_is_read(hostile_lab: Lab) -> None:
    largest = declared(ProducerSettings)["payload_bytes"].maximum
    assert largest is not None
    item = {"id": "big", "created_at": time.time(), "payload": "x" * int(largest), "queue_latency_seconds": 0.1}
    reply = send(hostile_lab.consumer, "POST", "/process", item)
    assert reply.status == 200, reply


@pytest.mark.parametrize(
    ("name", "path", "field"),
    [
        ("producer", "/admin/config", "queue_mode"),
        ("producer", "/admin/config", "production_rate"),
        ("consumer", "/admin/config", "processing_time_ms"),
        ("consumer", "/admin/slow-down", "factor"),
        ("consumer", "/process", "id"),
        ("producer", "/produce", "count"),
        ("producer", "/admin/consumers", "endpoints"),
    ],
)
def test_an_error_echoes_an_excerpt_not_the_input(hostile_lab: Lab, name: str, path: str, field: str) -> None:
    service = service_of(hostile_lab, name)
    method = "PUT" if path == "/admin/consumers" else "POST"
    huge = "x" * 900_000
    reply = send(service, method, path, {field: huge})
    assert reply.status == 400, str(reply)[:500]
    message = reply.body["error"]
    assert field in message
    assert len(message) < 1000, message[:2000]
    assert "(900,000 characters)" in message


def test_many_bad_fields_make_one_bounded_message(hostile_lab: Lab) -> None:
    reply = send(hostile_lab.producer, "POST", "/admin/config", {f"unknown_{n}": n for n in range(20_000)})
    assert reply.status == 400
    assert len(reply.body["error"]) < 2100
    assert "more characters)" in reply.body["error"]


def test_a_content_length_longer_than_the_body_is_a_408_and_a_closed_connection(hostile_lab: Lab) -> None:
    def exchange(endpoint: tuple[str, str, str]) -> tuple[bytes, float, bool]:
        name, method, path = endpoint
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n"
        ).encode()
        port = service_of(hostile_lab, name).port
        return raw_exchange(port, head, b'{"id": "a"', wait=BODY_READ_SECONDS + 5)

    with ThreadPoolExecutor(len(JSON_ENDPOINTS)) as pool:
        outcomes = list(pool.map(exchange, JSON_ENDPOINTS))
    for endpoint, (answer, seconds, closed) in zip(JSON_ENDPOINTS, outcomes, strict=True):
        assert answer.startswith(b"HTTP/1.1 408"), (endpoint, answer[:300])
        assert b"did not arrive within" in answer
        assert closed, endpoint
        assert BODY_READ_SECONDS - 0.5 < seconds < BODY_READ_SECONDS + 2, (endpoint, seconds)
    assert hostile_lab.consumer.status()["state"]["items_in_flight"] == 0
    no_traceback(hostile_lab)


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        (["http://a\ud800b:1"], "endpoints[0] is not valid Unicode"),
        (["http://10.0.0.1:8001", "http://[::1"], "endpoints[1] must be a base URL"),
        (
            ["http://127.0.0.1:99999"],
            "endpoints[0] must be a base URL: http:// or https://, a host name or IP address, "
            "an optional port from 1 to 65535",
        ),
        ([[]], "endpoints[0] must be a base URL"),
        (["http://127.0.0.1:8001", {"url": 1}], "endpoints[1] must be a base URL"),
    ],
)
def test_a_bad_consumer_list_is_a_400_naming_the_element_and_is_not_applied(
    hostile_lab: Lab, endpoints: list[object], message: str
) -> None:
    before = send(hostile_lab.producer, "GET", "/admin/consumers")
    reply = send(hostile_lab.producer, "PUT", "/admin/consumers", {"endpoints": endpoints})
    assert reply.status == 400, reply
    assert message in reply.body["error"]
    assert send(hostile_lab.producer, "GET", "/admin/consumers") == before
    assert hostile_lab.producer.status()["consumers"]["endpoints"] == before.body["endpoints"]
    no_traceback(hostile_lab)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"id": "a\\ud800b", "payload": "x"}', "id is not valid Unicode"),
        (json.dumps({"id": "x" * 10_000}).encode(), "id must be a string or an integer"),
        (b'{"id": "a", "created_at": 1e400}', "not valid JSON"),
        (b'{"id": "a", "created_at": NaN}', "not valid JSON"),
        (b'{"id": "a", "created_at": "now"}', "created_at must be a number"),
        (b'{"id": "a", "payload": ["x"]}', "payload must be a string"),
        (b'{"id": "a", "payload": "\\udc00"}', "payload is not valid Unicode"),
    ],
)
def test_a_bad_item_is_a_400_and_not_counted_as_processed(hostile_lab: Lab, raw: bytes, message: str) -> None:
    before = hostile_lab.consumer.status()["state"]
    reply = send(hostile_lab.consumer, "POST", "/process", raw=raw)
    assert reply.status == 400, reply
    assert message in reply.body["error"]
    after = hostile_lab.consumer.status()["state"]
    assert after["items_processed"] == before["items_processed"]
    assert after["items_failed"] == before["items_failed"] + 1
    assert after["items_in_flight"] == 0
    no_traceback(hostile_lab)


# ---------------------------------------------------------------------------------------------------- admin routes


def app_routes(name: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(method, path) of every route of the service's Starlette app, HEAD included where GET is."""
    for key in [key for key in os.environ if key.startswith("OTEL_")]:
        monkeypatch.delenv(key)  # tracing off: create_app returns the Starlette app itself
    app = producer_app.create_app() if name == "producer" else consumer_app.create_app()
    return sorted(
        (method, route.path) for route in app.routes if isinstance(route, Route) for method in route.methods or ()
    )


@pytest.mark.parametrize("name", ["producer", "consumer"])
def test_every_admin_route_needs_the_token(hostile_lab: Lab, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    service = service_of(hostile_lab, name)
    admin = [(method, path) for method, path in app_routes(name, monkeypatch) if path.startswith("/admin/")]
    assert ("GET", "/admin/config") in admin
    assert ("HEAD", "/admin/config") in admin
    open_routes = []
    for method, path in admin:
        for token in (None, "wrong"):
            reply = call(method, service.url + path, {}, token=token)
            if reply.status != 401:
                open_routes.append((method, path, token, reply.status))
            elif method != "HEAD":
                assert "Authorization: Bearer" in reply.body["error"]
    assert open_routes == []
    for method, path in app_routes(name, monkeypatch):
        if not path.startswith("/admin/") and method in {"GET", "HEAD"}:
            assert call(method, service.url + path, token=None).status == 200, (method, path)


# ------------------------------------------------------------------------------------------ settings file at start


SETTINGS_FILES = [
    (b"producer:\n  production_rate: 1" + b"0" * 400 + b"\n", "production_rate must be"),
    (b"producer:\n  queue_mode: \xff\xfe\n", "is not UTF-8 text"),
    (b"producer: " + b"[" * 5000 + b"]" * 5000 + b"\n", f"nests deeper than {MAX_JSON_DEPTH} levels"),
    (b"{not: yaml: at all", "is not valid JSON or YAML: line 1, column 11"),
    (
        b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + b"".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n".encode() for i in range(8))
        + b"producer: {production_rate: *i}\n",
        "YAML aliases (*name) are not allowed",
    ),
]


@pytest.mark.parametrize(("content", "message"), SETTINGS_FILES)
def test_a_hostile_settings_file_stops_the_service_with_one_line_at_once(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_bytes(content)
    started = time.monotonic()
    with pytest.raises(RuntimeError) as caught:
        start_service("producer", free_port(), tmp_path, {"BPLAB_SETTINGS_FILE": str(path)})
    assert time.monotonic() - started < 5
    text = str(caught.value)
    assert text.startswith("producer exited with 2: error: settings file"), text[:3000]
    log = text.split(": ", 1)[1]
    assert log.strip().count("\n") == 0, log[:3000]
    assert message in log
    assert len(log) < 1100


# ------------------------------------------------------------------------------------------------ property-based

EXAMPLES = 200

NUMBERS = st.sampled_from(
    [0, -0.0, -1, 1, 2, 0.5, 1e-310, 5e-324, 1e-300, 1e-6, 1e300, 1.7976931348623157e308, 2**53 + 1, 2**63, 2**64,
     10**400, -(10**400), 100_000, 100_001, 1000, 1001, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 60_000, 65_535]
)  # fmt: skip
TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
URLS = st.sampled_from(
    ["http://127.0.0.1:1", "http://[::1", "http://127.0.0.1:99999", "http://a\ud800b:1", "ftp://x", "http://x:1/p",
     "http://10.0.0.1:8001", "https://h.example:443/", "", "http://", "http://:80", "http://[::1]:8001"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), NUMBERS, TEXT, URLS
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=12,
)

FIELDS = {
    ("producer", "/admin/config"): [*declared(ProducerSettings)],
    ("producer", "/admin/consumers"): ["endpoints"],
    ("producer", "/produce"): ["count"],
    ("consumer", "/process"): ["id", "created_at", "payload", "queue_latency_seconds"],
    ("consumer", "/admin/config"): [*declared(ConsumerSettings)],
    ("consumer", "/admin/slow-down"): ["factor"],
    ("consumer", "/admin/speed-up"): ["factor"],
}


def bodies(name: str, path: str) -> st.SearchStrategy[Any]:
    """Objects of the endpoint's own fields with scalar values (some valid), objects of its fields and other keys
    with any values, and now and then anything at all."""
    own = FIELDS[(name, path)]
    fields = st.sampled_from(own)
    near_valid = st.fixed_dictionaries({}, optional=dict.fromkeys(own, st.one_of(NUMBERS, URLS, SCALARS)))
    objects = st.dictionaries(st.one_of(fields, fields, fields, TEXT), VALUES, max_size=4)
    return st.one_of(near_valid, near_valid, objects, objects, VALUES, st.binary(max_size=40))


def read_state(lab: Lab, name: str) -> Any:
    """What a refused request must leave as it was."""
    if name == "producer":
        return send(lab.producer, "GET", "/admin/config").body, send(lab.producer, "GET", "/admin/consumers").body
    return send(lab.consumer, "GET", "/admin/config").body


@pytest.mark.parametrize(("name", "method", "path"), JSON_ENDPOINTS)
def test_any_json_body_is_answered_below_500_and_a_refusal_changes_nothing(
    hostile_lab: Lab, name: str, method: str, path: str
) -> None:
    service = service_of(hostile_lab, name)
    seen: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(body=bodies(name, path))
    def property_holds(body: Any) -> None:
        if isinstance(body, dict) and {"production_rate", "payload_bytes"} <= body.keys():
            del body["payload_bytes"]  # 10,000 items/s of 4 MiB each, even for the milliseconds until reset(): no
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        before = read_state(hostile_lab, name)
        reply = send(service, method, path, raw=raw)
        seen[reply.status] = seen.get(reply.status, 0) + 1
        assert reply.status < 500, (reply, raw[:500])
        if 400 <= reply.status < 500:
            assert isinstance(reply.body, dict)
            assert isinstance(reply.body.get("error"), str)
            assert len(reply.body["error"]) <= 2100
            assert read_state(hostile_lab, name) == before, raw[:500]
        else:
            reset(hostile_lab)

    property_holds()
    for other in hostile_lab.services:
        assert call("GET", other.url + "/status").status == 200
        assert call("GET", other.url + "/health").status == 200
    no_traceback(hostile_lab)
    assert sum(seen.values()) >= EXAMPLES // 2, seen
    reset(hostile_lab)


def test_the_services_still_stop_cleanly_after_the_hostile_run(hostile_lab: Lab) -> None:
    stop(hostile_lab.producer)
    stop(hostile_lab.consumer)
    # uvicorn stops gracefully, then re-raises the SIGTERM it caught: the exit status says how the process ended.
    assert hostile_lab.producer.process.returncode == -signal.SIGTERM
    assert hostile_lab.consumer.process.returncode == -signal.SIGTERM
    no_traceback(hostile_lab)
