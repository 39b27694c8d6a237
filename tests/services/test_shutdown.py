"""SIGTERM: a bounded graceful stop, and one line that says what the stop lost and where each lost item was."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from backpressure_lab.common.service import STOP_GRACE_SECONDS
from backpressure_lab.producer.runtime import SEND_GRACE_SECONDS
from tests.ports import free_port
from tests.services.lab import (
    Reply,
    Service,
    call,
    running_lab,
    settings_env,
    start_service,
    stop,
    wait_until,
)

pytestmark = pytest.mark.services

NOTHING_GENERATED = "producer:\n  production_rate: 0\n"
"""From its start, so that the test alone decides what is queued."""


def terminate(service: Service) -> float:
    """SIGTERM, then the seconds until the process has exited (it must, well inside the pod's 10 s grace)."""
    started = time.monotonic()
    os.killpg(service.process.pid, signal.SIGTERM)
    try:
        service.process.wait(timeout=15)
    finally:
        stop(service)
    return time.monotonic() - started


def log_lines(service: Service) -> list[str]:
    return service.stderr().strip().splitlines()


def test_the_consumer_cuts_off_a_long_item_after_its_grace_answers_503_and_says_so(tmp_path: Path) -> None:
    consumer = start_service("consumer", free_port(), tmp_path)
    replies: list[Reply] = []
    try:
        consumer.admin("/admin/config", {"processing_time_ms": 30_000})
        sender = threading.Thread(target=post_slow_item, args=(consumer, replies), daemon=True)
        sender.start()
        assert wait_until(lambda: consumer.status()["state"]["items_in_flight"] == 1, timeout=5)
        seconds = terminate(consumer)
        sender.join(timeout=5)
    finally:
        stop(consumer)
    assert seconds < STOP_GRACE_SECONDS + 2, seconds
    assert consumer.process.returncode == -signal.SIGTERM  # uvicorn re-raises the SIGTERM after its graceful stop
    assert [reply.status for reply in replies] == [503]
    assert replies[0].headers["retry-after"] == "1"
    assert log_lines(consumer) == [
        f"consumer stopped: 1 item cut off in flight after a {STOP_GRACE_SECONDS:g} s grace "
        "(answered 503, so that the sender retries it)"
    ]


def test_an_idle_consumer_stops_at_once_and_says_nothing_was_in_flight(tmp_path: Path) -> None:
    consumer = start_service("consumer", free_port(), tmp_path)
    assert terminate(consumer) < 1.5
    assert log_lines(consumer) == ["consumer stopped: no items in flight"]


def test_the_producer_says_how_many_queued_and_in_flight_items_its_stop_lost(tmp_path: Path) -> None:
    with running_lab(tmp_path, producer_env=settings_env(tmp_path, NOTHING_GENERATED)) as lab:
        lab.consumer.admin("/admin/config", {"processing_time_ms": 30_000})
        lab.producer.admin("/admin/config", {"sender_concurrency": 2})
        assert lab.producer.post("/produce", {"count": 50}).status == 200

        def settled() -> bool:
            stats = lab.producer.status()["stats"]
            return bool(stats["in_flight"] == 2 and lab.producer.status()["queue"]["size"] == 48)

        assert wait_until(settled, timeout=5)
        seconds = terminate(lab.producer)
    assert seconds < SEND_GRACE_SECONDS + 2, seconds
    assert lab.producer.process.returncode == -signal.SIGTERM
    assert log_lines(lab.producer) == [
        f"producer stopped: 50 items lost (48 queued, 2 in flight, cut off after a {SEND_GRACE_SECONDS:g} s grace)"
    ]


def test_the_producer_lets_a_send_under_way_finish_within_its_grace(tmp_path: Path) -> None:
    with running_lab(tmp_path, producer_env=settings_env(tmp_path, NOTHING_GENERATED)) as lab:
        lab.consumer.admin("/admin/config", {"processing_time_ms": 800})
        assert lab.producer.post("/produce", {"count": 1}).status == 200
        assert wait_until(lambda: lab.producer.status()["stats"]["in_flight"] == 1, timeout=5)
        seconds = terminate(lab.producer)
        assert lab.consumer.status()["state"]["items_processed"] == 1
    assert 0.3 < seconds < SEND_GRACE_SECONDS + 1, seconds
    assert log_lines(lab.producer) == ["producer stopped: no items lost"]


def post_slow_item(consumer: Service, replies: list[Reply]) -> None:
    with contextlib.suppress(OSError):
        replies.append(call("POST", consumer.url + "/process", {"id": "slow"}))
