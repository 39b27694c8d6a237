"""The original lab's HTTP contract (docs/original-contract.md), read as its clients read it: the status code, the
field names and the JSON types (an integer stays an integer: `10`, never `10.0`), against real processes."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest

from tests.services.lab import Lab, Reply, call

pytestmark = pytest.mark.services


def raw_json(url: str) -> dict[str, Any]:
    """The body parsed as a JavaScript or Go client would see it: integers and floats told apart by the text."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    parsed: dict[str, Any] = json.loads(text, parse_float=lambda s: ("float", float(s)))
    return parsed


def integer(value: object, expected: int) -> bool:
    """`value` is the JSON integer `expected` (10, not 10.0)."""
    return type(value) is int and value == expected


def test_producer_health_is_the_originals(lab: Lab) -> None:
    body = raw_json(lab.producer.url + "/health")
    assert body["status"] == "ok"
    assert body["service"] == "producer"
    assert body["queue_mode"] == "unbounded"
    assert type(body["queue_size"]) is int


def test_consumer_health_is_the_originals(lab: Lab) -> None:
    body = raw_json(lab.consumer.url + "/health")
    assert body == {"status": "ok", "service": "consumer", "processing_time_ms": 100, "variable_processing": False}


def test_producer_status_fields_keep_their_types(lab: Lab) -> None:
    body = raw_json(lab.producer.url + "/status")
    queue, config, process = body["queue"], body["config"], body["process"]
    assert body["service"] == "producer"
    assert (queue["mode"], queue["max_size"]) == ("unbounded", "unlimited")
    assert type(queue["size"]) is int
    assert type(queue["memory_bytes"]) is int
    assert integer(config["production_rate"], 10)
    assert config["rate_limit"] is None  # only in rate_limited mode
    assert isinstance(config["consumer_url"], str)
    assert type(process["memory_bytes"]) is int


def test_settings_stay_integers_after_a_change_and_numeric_strings_are_accepted(lab: Lab) -> None:
    changes = {"production_rate": "20", "queue_mode": "bounded", "max_queue_size": 100}
    reply = lab.producer.post("/admin/config", changes)
    assert reply.status == 200, reply
    assert reply.body["status"] == "updated"
    assert {k: reply.body["config"][k] for k in ("queue_mode", "max_queue_size", "production_rate")} == {
        "queue_mode": "bounded", "max_queue_size": 100, "production_rate": 20,
    }  # fmt: skip
    body = raw_json(lab.producer.url + "/status")
    assert integer(body["config"]["production_rate"], 20)
    assert integer(body["queue"]["max_size"], 100)
    assert (
        lab.producer.admin("/admin/config", {"queue_mode": "rate_limited", "rate_limit": 2})["config"]["rate_limit"]
        == 2
    )
    limited = raw_json(lab.producer.url + "/status")["config"]
    assert integer(limited["rate_limit"], 2)


def test_an_unknown_queue_mode_is_a_400(lab: Lab) -> None:
    reply = lab.producer.post("/admin/config", {"queue_mode": "sideways"})
    assert reply.status == 400
    assert "queue_mode" in reply.body["error"]


def test_clear_queue_answers_items_removed(lab: Lab) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 50})
    lab.producer.post("/produce", {"count": 20})
    reply = call("POST", lab.producer.url + "/admin/clear-queue")
    assert reply.status == 200
    assert reply.body["status"] == "cleared"
    assert type(reply.body["items_removed"]) is int
    assert reply.body["items_removed"] >= 1


def test_produce_answers_200_with_the_counts_also_when_items_are_rejected(lab: Lab) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 50})
    lab.producer.admin("/admin/config", {"queue_mode": "bounded", "max_queue_size": 10, "production_rate": 0})
    reply = lab.producer.post("/produce", {"count": 30})
    assert reply.status == 200, reply
    assert reply.body["produced"] + reply.body["rejected"] == 30
    assert reply.body["rejected"] >= 18
    assert type(reply.body["queue_size"]) is int
    assert int(reply.headers["retry-after"]) >= 1  # harmless to the original's clients, useful to new ones


def test_produce_answers_429_when_the_lab_is_told_to_push_back(lab: Lab) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 50})
    lab.producer.admin(
        "/admin/config",
        {"queue_mode": "bounded", "max_queue_size": 10, "production_rate": 0, "produce_overload_status": 429},
    )
    reply = lab.producer.post("/produce", {"count": 30})
    assert reply.status == 429
    assert reply.body["rejected"] >= 18
    assert "retry-after" in reply.headers


def test_consumer_status_fields_keep_their_types(lab: Lab) -> None:
    body = raw_json(lab.consumer.url + "/status")
    assert integer(body["config"]["processing_time_ms"], 100)
    assert body["config"]["variable_processing"] is False
    assert body["config"]["processing_range_ms"] is None
    assert type(body["state"]["items_in_flight"]) is int
    assert body["state"]["max_throughput"] == "10.00 items/sec"
    lab.consumer.admin("/admin/config", {"variable_processing": "true", "processing_max_ms": 500})
    assert raw_json(lab.consumer.url + "/status")["config"]["processing_range_ms"] == "50-500"


def test_slow_down_and_speed_up_answer_as_the_original_and_processing_time_reads_the_new_time(lab: Lab) -> None:
    slowed = lab.consumer.admin("/admin/slow-down", {"factor": 5})
    assert {k: slowed[k] for k in ("status", "old_processing_time_ms", "new_processing_time_ms", "factor")} == {
        "status": "slowed_down", "old_processing_time_ms": 100, "new_processing_time_ms": 500, "factor": 5,
    }  # fmt: skip
    assert slowed["new_max_throughput"] == "2.00 items/sec"
    status = raw_json(lab.consumer.url + "/status")
    assert integer(status["config"]["processing_time_ms"], 500)
    assert raw_json(lab.consumer.url + "/health")["processing_time_ms"] == 500
    sped = lab.consumer.admin("/admin/speed-up", {"factor": 5})
    assert (sped["status"], sped["old_processing_time_ms"], sped["new_processing_time_ms"]) == ("sped_up", 500, 100)
    assert lab.consumer.admin("/admin/speed-up", {"factor": 100})["new_processing_time_ms"] == 10  # never below 10 ms


def test_slow_down_without_a_body_uses_the_originals_factor_of_2(lab: Lab) -> None:
    reply = call("POST", lab.consumer.url + "/admin/slow-down")
    assert reply.status == 200, reply
    assert (reply.body["factor"], reply.body["new_processing_time_ms"]) == (2, 200)


def test_consumer_config_answers_the_originals_fields(lab: Lab) -> None:
    body = lab.consumer.admin("/admin/config", {"processing_time_ms": "250"})
    assert body["status"] == "updated"
    config = body["config"]
    assert (config["processing_time_ms"], config["variable_processing"]) == (250, False)
    assert (config["processing_min_ms"], config["processing_max_ms"]) == (50, 200)
    assert config["max_throughput"] == "4.00 items/sec"


def test_the_original_process_body_is_accepted(lab: Lab) -> None:
    reply = lab.consumer.post("/process", {"id": "abc", "created_at": time.time(), "payload": {"data": "x" * 1024}})
    assert reply.status == 200, reply
    assert reply.body["status"] == "processed"


def _play_the_original_load(lab: Lab, seconds: float, requests_per_second: float) -> tuple[list[Reply], list[int]]:
    """The original's k6 scenario, in small: POST /produce {count: 5} at a steady rate while /status is polled each
    second, every answer kept."""
    produce: list[Reply] = []
    polls: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            polls.append(call("GET", lab.producer.url + "/status").status)
            stop.wait(1.0)

    poller = threading.Thread(target=poll)
    poller.start()
    started = time.monotonic()
    try:
        for index in range(int(seconds * requests_per_second)):
            time.sleep(max(0.0, started + index / requests_per_second - time.monotonic()))
            produce.append(lab.producer.post("/produce", {"count": 5}))
    finally:
        stop.set()
        poller.join()
    return produce, polls


@pytest.mark.parametrize("mode", ["unbounded", "bounded"])
def test_the_originals_load_script_sees_no_error(lab: Lab, mode: str) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 5})
    lab.producer.admin("/admin/config", {"queue_mode": mode, "max_queue_size": 100})
    produce, polls = _play_the_original_load(lab, seconds=8.0, requests_per_second=18.0)
    assert [r.status for r in produce if r.status != 200] == []
    assert polls
    assert set(polls) == {200}
    rejected = sum(r.body["rejected"] for r in produce)
    produced = sum(r.body["produced"] for r in produce)
    assert produced + rejected == 5 * len(produce)
    if mode == "bounded":
        # 90 items/s offered against a queue of 100 drained at 4/s: most of them are refused, and the bodies say so.
        assert rejected > produced
        assert lab.producer.status()["stats"]["rejected"] >= rejected
    else:
        assert rejected == 0
