from __future__ import annotations

import pytest

from backpressure_lab.producer.token_bucket import TokenBucket


def test_burst_then_rate() -> None:
    bucket = TokenBucket.full(rate=2.0, burst=3, now=0.0)
    assert [bucket.try_take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_take(0.0) == pytest.approx(0.5)
    assert bucket.try_take(0.5) == 0.0
    assert bucket.try_take(0.5) == pytest.approx(0.5)


def test_admits_at_most_rate_over_time() -> None:
    bucket = TokenBucket.full(rate=5.0, burst=1, now=0.0)
    taken = 0
    now = 0.0
    while now < 10.0:
        wait = bucket.try_take(now)
        if wait == 0.0:
            taken += 1
        else:
            now += wait
    assert taken in (50, 51)


def test_tokens_never_exceed_burst() -> None:
    bucket = TokenBucket.full(rate=100.0, burst=4, now=0.0)
    assert bucket.take_up_to(1000, now=60.0) == 4


def test_reconfigure_keeps_earned_tokens_capped() -> None:
    bucket = TokenBucket.full(rate=1.0, burst=10, now=0.0)
    bucket.reconfigure(rate=5.0, burst=2, now=0.0)
    assert bucket.tokens == 2
    assert bucket.seconds_until(3, now=0.0) == pytest.approx(0.2)
