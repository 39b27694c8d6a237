"""Bad input gets a 4xx whose message names the field and what it accepts; never a 500; the service keeps running."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ports import free_port
from tests.services.lab import Lab, call, running_lab, start_service, stop

pytestmark = pytest.mark.services

PRODUCER_CASES = [
    ("/admin/config", {"production_rate": -5}, "production_rate must be a number >= 0"),
    ("/admin/config", {"rate_limit": 0}, "rate_limit must be a number > 0"),
    ("/admin/config", {"queue_mode": "lifo"}, "queue_mode must be one of unbounded, bounded, rate_limited, block"),
    ("/admin/config", {"max_queue_size": "lots"}, "max_queue_size must be an integer"),
    ("/admin/config", {"sender_concurrency": 0}, "sender_concurrency must be an integer >= 1 and <= 256"),
    ("/admin/config", {"colour": "red"}, "unknown setting 'colour'"),
    ("/admin/config", [1, 2], "request body must be a JSON object"),
    ("/produce", {"count": 0}, "count must be an integer from 1 to 100000"),
    ("/produce", {"count": 10**9}, "count must be an integer from 1 to 100000"),
    ("/produce", {"count": "ten"}, "count must be an integer from 1 to 100000"),
    ("/produce", {"count": 5, "extra": 1}, "unknown field(s) 'extra'"),
    # 50,000 items of 64 KiB would be 3.2 GB in one request: bounded to the producer's 256 MiB.
    ("/produce", {"count": 50000}, "count 50000 x payload_bytes 65536 is more than one /produce may add (256 MiB)"),
]

CONSUMER_CASES = [
    ("/admin/slow-down", {"factor": 0}, "factor must be a number > 0 and <= 1000 (got 0)"),
    ("/admin/speed-up", {"factor": -2}, "factor must be a number > 0"),
    ("/admin/slow-down", {"factor": "five"}, "factor must be a number"),
    ("/admin/slow-down", {"factor": 1000}, "slow_down_factor must be a number > 0 and <= 1000"),
    ("/admin/config", {"processing_time_ms": -1}, "processing_time_ms must be a number >= 0 and <= 60000"),
    ("/admin/config", {"processing_min_ms": 500, "processing_max_ms": 100}, "processing_min_ms must be <="),
    ("/admin/config", {"variable_processing": "yes"}, "variable_processing must be true or false"),
    ("/process", {"payload": "x"}, "id must be a string or an integer"),
]


@pytest.mark.parametrize(("path", "body", "message"), PRODUCER_CASES)
def test_producer_bad_input(lab: Lab, path: str, body: object, message: str) -> None:
    before = lab.producer.get("/admin/config")
    reply = lab.producer.post(path, body)
    assert reply.status == 400, reply
    assert message in reply.body["error"]
    assert lab.producer.get("/admin/config") == before
    assert lab.producer.get("/health")["status"] == "ok"


@pytest.mark.parametrize(("path", "body", "message"), CONSUMER_CASES)
def test_consumer_bad_input(lab: Lab, path: str, body: object, message: str) -> None:
    if path == "/admin/slow-down" and body == {"factor": 1000}:
        lab.consumer.admin("/admin/slow-down", {"factor": 5})
    before = lab.consumer.get("/admin/config")
    reply = lab.consumer.post(path, body)
    assert reply.status == 400, reply
    assert message in reply.body["error"]
    assert lab.consumer.get("/admin/config") == before
    assert lab.consumer.get("/health")["status"] == "ok"


@pytest.mark.parametrize("raw", [b"not json", b"", b'{"factor": ', "\u00e9".encode("latin-1")])
def test_bodies_that_are_not_json(lab: Lab, raw: bytes) -> None:
    endpoints = [(lab.producer, "/admin/config"), (lab.consumer, "/admin/slow-down"), (lab.producer, "/produce")]
    if not raw:  # an empty slow-down is the original's: its factor defaults to 2 (test_original_contract)
        endpoints.remove((lab.consumer, "/admin/slow-down"))
    for service, path in endpoints:
        reply = service.post(path, raw=raw)
        assert reply.status == 400, reply
        assert "send a JSON object such as" in reply.body["error"]


def test_unknown_endpoint_and_method_are_4xx_json(lab: Lab) -> None:
    missing = call("GET", lab.producer.url + "/nope")
    assert missing.status == 404
    assert missing.body["error"] == "no such endpoint: GET /nope"
    wrong = call("GET", lab.consumer.url + "/process")
    assert wrong.status == 405


def test_admin_token_is_required_when_set(tmp_path: Path) -> None:
    with running_lab(tmp_path, producer_env={"BPLAB_ADMIN_TOKEN": "s3cret"}) as lab:
        refused = lab.producer.post("/admin/config", {"production_rate": 5}, token=None)
        assert refused.status == 401
        assert "Authorization: Bearer" in refused.body["error"]
        wrong = lab.producer.post("/admin/config", {"production_rate": 5}, token="guess")
        assert wrong.status == 401
        assert lab.producer.admin("/admin/config", {"production_rate": 5})["config"]["production_rate"] == 5
        assert lab.producer.post("/produce", {"count": 1}, token=None).status == 200


def test_settings_file_is_read_at_start(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        "producer:\n  queue_mode: bounded\n  max_queue_size: 42\nconsumer:\n  processing_time_ms: 250\n"
    )
    env = {"BPLAB_SETTINGS_FILE": str(settings)}
    with running_lab(tmp_path, producer_env=env, consumer_env=env) as lab:
        assert lab.producer.status()["queue"] == lab.producer.status()["queue"] | {"mode": "bounded", "max_size": 42}
        assert lab.consumer.status()["config"]["processing_time_ms"] == 250


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("producer:\n  queue_mode: lifo\n", "queue_mode must be one of"),
        ("producer: [1, 2]\n", "'producer' must be a mapping"),
        ("{not: yaml: at all", "is not valid JSON or YAML"),
    ],
)
def test_bad_settings_file_stops_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(content)
    with pytest.raises(RuntimeError) as caught:
        start_service("producer", free_port(), tmp_path, {"BPLAB_SETTINGS_FILE": str(settings)})
    text = str(caught.value)
    assert "exited with 2" in text
    assert message in text
    assert "Traceback" not in text


def test_no_exporter_configured_logs_nothing(lab: Lab) -> None:
    lab.producer.admin("/admin/config", {"production_rate": 50})
    lab.producer.post("/produce", {"count": 20})
    lab.consumer.post("/process", {"id": 1})
    stop(lab.producer)
    stop(lab.consumer)
    # Only the one line each service logs as it stops (what the stop lost): no exporter warnings.
    assert lab.producer.stderr().startswith("producer stopped: ")
    assert lab.consumer.stderr().startswith("consumer stopped: ")
    assert lab.producer.stderr().count("\n") == lab.consumer.stderr().count("\n") == 1


def test_a_settings_file_not_written_yet_starts_on_the_defaults(tmp_path: Path) -> None:
    """A mounted ConfigMap volume that the operator has not filled yet: the folder is there, the file is not."""
    env = {"BPLAB_SETTINGS_FILE": str(tmp_path / "settings.yaml")}
    producer = start_service("producer", free_port(), tmp_path, env)
    try:
        assert producer.status()["config"]["queue_mode"] == "unbounded"
    finally:
        stop(producer)
    assert "not there yet: starting with the defaults" in producer.stderr()


def test_a_settings_file_in_a_missing_folder_stops_with_one_line(tmp_path: Path) -> None:
    env = {"BPLAB_SETTINGS_FILE": str(tmp_path / "nowhere" / "settings.yaml")}
    with pytest.raises(RuntimeError) as caught:
        start_service("producer", free_port(), tmp_path, env)
    assert "exited with 2" in str(caught.value)
    assert "does not exist, nor does its folder" in str(caught.value)
