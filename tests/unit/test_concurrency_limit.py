"""The adaptive limits against a simulated consumer that refuses (503) past its concurrency N, as ours does."""

from __future__ import annotations

import pytest

from backpressure_lab.producer.concurrency_limit import AimdLimit, GradientLimit


def simulate(limiter: AimdLimit | GradientLimit, consumer_concurrency: int, seconds: float) -> tuple[list[int], int]:
    """Each 0.1 s round trip the sender fills its limit; sends past N are refused at once. Returns the limit per
    round and how many 503s there were."""
    limits, refused, now = [], 0, 0.0
    while now < seconds:
        in_flight = limiter.current
        for _ in range(min(in_flight, consumer_concurrency)):
            limiter.on_success(0.1, now)
        for _ in range(max(0, in_flight - consumer_concurrency)):
            refused += 1
            limiter.on_overload(now)
        limits.append(limiter.current)
        now += 0.1
    return limits, refused


@pytest.mark.parametrize("consumer_concurrency", [2, 4, 8, 16])
@pytest.mark.parametrize("algorithm", [AimdLimit, GradientLimit])
def test_limit_settles_near_the_consumers_concurrency_with_few_refusals(
    algorithm: type[AimdLimit] | type[GradientLimit], consumer_concurrency: int
) -> None:
    limiter = algorithm(limit=2.0, maximum=64)
    limits, refused = simulate(limiter, consumer_concurrency, seconds=60)
    settled = limits[300:]
    assert all(abs(limit - consumer_concurrency) <= max(1, 0.25 * consumer_concurrency) for limit in settled), settled
    sends = sum(min(limit, consumer_concurrency) for limit in limits)
    assert refused / sends < 0.01


def test_limits_never_pass_the_maximum_nor_fall_below_one() -> None:
    aimd = AimdLimit(limit=1.0, maximum=3)
    for tick in range(1000):
        aimd.on_success(0.1, tick * 0.01)
    assert aimd.current == 3
    for tick in range(100):
        aimd.on_overload(100.0 + tick * 10)
    assert aimd.current == 1


def test_gradient_shrinks_when_latency_rises() -> None:
    limiter = GradientLimit(limit=10.0, maximum=64)
    for tick in range(700):
        limiter.on_success(0.1, tick * 0.01)
    grown = limiter.limit
    for tick in range(50):
        limiter.on_success(1.0, 10 + tick * 0.01)
    assert limiter.limit < grown
