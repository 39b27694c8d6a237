"""tests/waiting.py: the one polling loop behind every tier's wait helpers, and the wrappers' promises."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.services.lab import wait_until
from tests.waiting import poll


def test_returns_the_first_value_that_satisfies_until() -> None:
    values = iter([0, 0, 3, 4])
    polled = poll(lambda: next(values), timeout=5, interval=0)
    assert polled.done
    assert polled.last == 3


def test_a_timeout_reports_the_last_value_and_probes_once_more_after_the_deadline() -> None:
    probes: list[float] = []

    def probe() -> int:
        probes.append(time.monotonic())
        return len(probes)

    started = time.monotonic()
    polled = poll(probe, timeout=0.2, interval=0.05, until=lambda n: n > 1000)
    assert not polled.done
    assert polled.last == len(probes)
    assert probes[-1] - started > 0.2
    assert polled.seconds >= 0.2


def test_a_zero_timeout_still_probes_once() -> None:
    assert poll(lambda: True, timeout=0, interval=1).done


def test_not_yet_exceptions_are_waited_out_and_others_end_the_wait() -> None:
    tries: Iterator[Exception | str] = iter([OSError("refused"), OSError("reset"), "up"])

    def probe() -> str:
        found = next(tries)
        if isinstance(found, Exception):
            raise found
        return found

    assert poll(probe, timeout=5, interval=0, not_yet=(OSError,)).last == "up"
    with pytest.raises(ValueError, match="bad"):
        poll(lambda: int("bad"), timeout=5, interval=0, not_yet=(OSError,))


def test_alive_ends_the_wait_early() -> None:
    def dead() -> None:
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="exited"):
        poll(lambda: False, timeout=5, interval=0, alive=dead)


def test_services_wait_until_treats_oserror_as_not_yet() -> None:
    tries: Iterator[Exception | bool] = iter([ConnectionRefusedError(), False, True])

    def condition() -> bool:
        found = next(tries)
        if isinstance(found, Exception):
            raise found
        return found

    assert wait_until(condition, timeout=5, interval=0)
    assert not wait_until(lambda: False, timeout=0.1, interval=0.01)
