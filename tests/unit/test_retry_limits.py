"""The two client-side limits on a retry storm (retry_limits.py), the send history they decide on, and the attempt
policy that applies them to each attempt of a delivery."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.producer.attempt_policy import AttemptPolicy, Outcome
from backpressure_lab.producer.retry_limits import retry_within_budget, throttle_probability, throttles
from backpressure_lab.producer.send_history import SendHistory
from backpressure_lab.producer.settings import ProducerSettings

counts = st.floats(min_value=0, max_value=1e6, allow_nan=False)
ks = st.floats(min_value=0.01, max_value=10, allow_nan=False)


@given(requests=counts, accepts=counts, k=ks)
def test_the_throttle_probability_is_a_probability_below_one(requests: float, accepts: float, k: float) -> None:
    p = throttle_probability(requests, accepts, k)
    assert 0.0 <= p < 1.0


@given(requests=counts, accepts=counts)
def test_no_throttling_when_it_is_off(requests: float, accepts: float) -> None:
    assert throttle_probability(requests, accepts, 0.0) == 0.0
    assert not throttles(requests, accepts, 0.0, 0.0)


@given(accepts=counts, k=ks)
def test_nothing_is_throttled_while_requests_stay_within_k_times_accepts(accepts: float, k: float) -> None:
    assert throttle_probability(k * accepts, accepts, k) == 0.0


@given(requests=counts, more=st.floats(min_value=1, max_value=1e6), accepts=counts, k=ks)
def test_more_refused_requests_throttle_harder(requests: float, more: float, accepts: float, k: float) -> None:
    assert throttle_probability(requests + more, accepts, k) >= throttle_probability(requests, accepts, k)


def test_the_books_example_a_backend_accepting_nothing() -> None:
    # With no accepts the client refuses requests/(requests+1) of its attempts: nearly all, never quite all.
    assert throttle_probability(99, 0, 2.0) == pytest.approx(0.99)
    assert throttles(99, 0, 2.0, 0.5)
    assert not throttles(99, 0, 2.0, 0.995)


@given(first=st.integers(min_value=0, max_value=10_000), ratio=st.floats(min_value=0.01, max_value=20))
def test_retries_never_pass_their_share_of_first_attempts(first: int, ratio: float) -> None:
    retries = 0
    while retry_within_budget(retries, first, ratio):
        retries += 1
    assert ratio * first - 1 < retries <= ratio * first


@given(retries=counts, first=counts)
def test_a_budget_of_zero_is_no_budget(retries: float, first: float) -> None:
    assert retry_within_budget(retries, first, 0.0)


def test_the_history_counts_the_unfinished_second_for_decisions_only() -> None:
    history = SendHistory(window_seconds=10)
    for _ in range(4):
        history.attempted(100.2, retry=False)
    history.attempted(100.3, retry=True)
    history.throttled(100.3)
    history.accepted(100.4)
    recent = history.recent(100.5)
    assert (recent.first_attempts, recent.retries, recent.throttled, recent.accepted) == (4, 1, 1, 1)
    assert (recent.requests, recent.sent) == (5, 4)
    assert (recent.attempts_per_accepted_item, recent.retry_share) == (4, 0.25)
    assert history.per_second(100.5).requests == 0  # the second is not over
    later = history.per_second(101.0)
    assert (later.sent, later.accepted) == pytest.approx((4.0, 1.0))
    assert history.recent(111.0).requests == 0  # out of the window


def test_a_history_without_accepts_has_no_amplification_figure() -> None:
    history = SendHistory()
    history.attempted(5.0, retry=False)
    assert history.recent(5.0).attempts_per_accepted_item is None
    assert SendHistory().recent(5.0).retry_share is None


class FixedDraw(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def storm(**changes: Any) -> ProducerSettings:
    return ProducerSettings(**{"retry_budget": 20, "retry_backoff_ms": 0.0, "honour_retry_after": False, **changes})


def test_a_refused_send_is_retried_until_the_items_retries_are_spent() -> None:
    policy, settings = AttemptPolicy(SendHistory(), FixedDraw(0.0)), storm(retry_budget=2)
    assert policy.outcome(settings, 503, attempt=1, now=1.0) is Outcome.RETRIED
    assert policy.outcome(settings, None, attempt=2, now=1.0) is Outcome.RETRIED
    assert policy.outcome(settings, 503, attempt=3, now=1.0) is Outcome.DROPPED
    assert policy.outcome(settings, 400, attempt=1, now=1.0) is Outcome.DROPPED
    assert policy.outcome(settings, 200, attempt=3, now=1.0) is Outcome.SENT


def test_the_producers_retry_budget_denies_retries_past_its_share() -> None:
    history = SendHistory()
    policy, settings = AttemptPolicy(history, FixedDraw(0.0)), storm(retry_budget_ratio=0.1)
    for _ in range(20):
        assert policy.begin(settings, attempt=1, now=3.0)
    # 20 first attempts allow 2 retries; the third is denied although the item has retries left.
    outcomes = []
    for _ in range(3):
        outcome = policy.outcome(settings, 503, attempt=1, now=3.0)
        outcomes.append(outcome)
        if outcome is Outcome.RETRIED:
            policy.begin(settings, attempt=2, now=3.0)
    assert outcomes == [Outcome.RETRIED, Outcome.RETRIED, Outcome.DENIED]
    # An attempt the throttle kept back was never sent: the budget of retries sent does not judge it.
    assert policy.outcome(settings, None, attempt=2, now=3.0, throttled=True) is Outcome.RETRIED


def test_the_throttle_refuses_attempts_once_accepts_fall_behind() -> None:
    history = SendHistory()
    policy, throttled = AttemptPolicy(history, FixedDraw(0.5)), storm(client_throttle_k=2.0)
    assert policy.begin(throttled, attempt=1, now=1.0)  # no history: nothing to throttle on
    policy.outcome(throttled, 200, attempt=1, now=1.0)
    for _ in range(30):  # refused sends, with the throttle off
        assert policy.begin(storm(), attempt=1, now=1.0)
        policy.outcome(storm(), 503, attempt=1, now=1.0)
    assert not policy.begin(throttled, attempt=2, now=1.0)  # p = (31 - 2 * 1) / 32 > 0.5
    recent = history.recent(1.0)
    assert (recent.requests, recent.sent, recent.throttled, recent.accepted) == (32, 31, 1, 1)
    assert policy.begin(storm(), attempt=1, now=1.0)  # k = 0: off


def test_the_consumers_retry_after_is_a_floor_only_when_honoured() -> None:
    policy = AttemptPolicy(SendHistory(), FixedDraw(0.5))
    assert policy.delay(storm(), attempt=1, retry_after=1.0) == 0.0
    assert policy.delay(storm(honour_retry_after=True), attempt=1, retry_after=1.0) == 1.0
    assert policy.delay(ProducerSettings(), attempt=1, retry_after=None) == pytest.approx(0.05)


@pytest.mark.parametrize(("k", "budget", "most"), [(0.0, 0.0, None), (2.0, 0.0, 2.3), (0.0, 0.1, 1.9), (2.0, 0.1, 1.9)])
def test_a_simulated_storm_is_contained_by_each_limit(k: float, budget: float, most: float | None) -> None:
    """Items offered at 30/s to a consumer with two slots that free at 20/s in all, each refused attempt retried at
    once: without limits an accepted item costs many requests; the throttle holds them near K, the budget near
    (1 + ratio) x offered / accepted."""
    settings = storm(client_throttle_k=k, retry_budget_ratio=budget)
    policy, arrivals = AttemptPolicy(history := SendHistory(), random.Random(7)), random.Random(11)
    step, freed_per_step = 0.01, 0.2  # 100 steps a second
    free_slots, sent, accepted = 0.0, 0, 0
    for tick in range(3000):
        now, measuring = tick * step, tick >= 1000  # after 10 s, once the history's window is full
        free_slots = min(free_slots + freed_per_step, 2.0)
        if arrivals.random() >= 0.3:
            continue
        attempt = 1
        while True:
            status: int | None = None
            if policy.begin(settings, attempt, now):
                sent += measuring
                status = 503
                if free_slots >= 1.0:
                    free_slots, status = free_slots - 1.0, 200
                    accepted += measuring
            if policy.outcome(settings, status, attempt, now, throttled=status is None) is not Outcome.RETRIED:
                break
            attempt += 1
    amplification = sent / accepted
    assert 15 * 20 <= accepted <= 20 * 20  # the consumer stayed busy in every case
    if most is None:
        assert amplification > 5
    else:
        assert amplification <= most
    assert history.recent(now).requests > 0
