from __future__ import annotations

import pytest

from backpressure_lab.producer.pacing import Schedule
from backpressure_lab.producer.retry import MAX_BACKOFF_SECONDS, backoff_seconds, is_retryable, parse_retry_after


def test_schedule_spaces_items_by_the_current_rate() -> None:
    schedule = Schedule(next_due=0.0, rate=10.0)
    schedule.emitted(0.0, waited=False)
    assert schedule.due_in(0.0) == pytest.approx(0.1)
    schedule.change_rate(50.0, last_emitted=0.0)
    assert schedule.due_in(0.0) == pytest.approx(0.02)


def test_paused_schedule_has_nothing_due() -> None:
    schedule = Schedule(next_due=0.0, rate=0.0)
    assert schedule.due_in(100.0) is None


def test_a_wait_restarts_the_schedule_instead_of_bursting() -> None:
    schedule = Schedule(next_due=0.0, rate=10.0)
    schedule.emitted(3.0, waited=True)
    assert schedule.due_in(3.0) == pytest.approx(0.1)


def test_small_lag_is_caught_up_large_lag_is_not() -> None:
    schedule = Schedule(next_due=0.0, rate=10.0)
    schedule.emitted(0.5, waited=False)
    assert schedule.next_due == pytest.approx(0.1)
    schedule.emitted(5.0, waited=False)
    assert schedule.next_due == pytest.approx(5.1)


def test_retryable_statuses() -> None:
    assert is_retryable(None)
    assert is_retryable(503)
    assert is_retryable(429)
    assert not is_retryable(400)
    assert not is_retryable(404)


def test_backoff_grows_and_is_capped() -> None:
    assert backoff_seconds(1, 100, 1.0, None) == pytest.approx(0.1)
    assert backoff_seconds(3, 100, 1.0, None) == pytest.approx(0.4)
    assert backoff_seconds(30, 100, 1.0, None) == MAX_BACKOFF_SECONDS
    assert backoff_seconds(1, 100, 0.0, None) == 0.0


def test_retry_after_is_a_floor() -> None:
    assert backoff_seconds(1, 100, 0.5, 2.0) == 2.0


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
