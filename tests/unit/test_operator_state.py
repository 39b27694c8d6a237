"""The operator's work guard: while stopping nothing runs, and close() waits for the work in progress."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from backpressure_lab.operator.state import OperatorState, StoppingError


class Closable:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def new_state() -> OperatorState:
    return OperatorState(config=cast(Any, None), pods_http=cast(Any, Closable()), kube=cast(Any, Closable()))


def test_work_counts_the_body_as_busy_and_releases_it_even_on_error() -> None:
    state = new_state()
    with state.work():
        assert state.busy == 1
        with state.work():
            assert state.busy == 2
    assert state.busy == 0
    with pytest.raises(ValueError, match="boom"), state.work():
        raise ValueError("boom")
    assert state.busy == 0


def test_while_stopping_the_body_never_runs() -> None:
    state = new_state()
    state.stopping = True
    ran = False
    with pytest.raises(StoppingError), state.work():
        ran = True
    assert not ran
    assert state.busy == 0


def test_close_stops_new_work_and_waits_for_the_work_in_progress() -> None:
    state = new_state()
    finished: list[str] = []

    async def in_progress(entered: asyncio.Event) -> None:
        with state.work():
            entered.set()
            await asyncio.sleep(0.2)
            finished.append("work")

    async def scenario() -> None:
        entered = asyncio.Event()
        task = asyncio.create_task(in_progress(entered))
        await entered.wait()
        await state.close()
        finished.append("closed")
        await task

    asyncio.run(scenario())
    assert finished == ["work", "closed"]
    assert cast(Closable, state.pods_http).closed
    assert cast(Closable, state.kube).closed
    with pytest.raises(StoppingError), state.work():
        pass
