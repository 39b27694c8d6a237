"""The lab looked at every SAMPLE_SECONDS: the one sampling loop behind a check's observation (checks.py) and a
report's recording (report.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from backpressure_lab.cli.client import LabClient, LabError
from backpressure_lab.cli.exercises import Sample

SAMPLE_SECONDS = 0.5


def look_at_the_lab(
    client: LabClient,
    seconds: float,
    *,
    burst: int = 0,
    change_at: float | None = None,
    change: Callable[[], None] = lambda: None,
    outage_seconds: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Sample]:
    """A look at both services every SAMPLE_SECONDS for `seconds`. At `change_at` seconds `change` runs once; from
    then on (from the start, without a change) each look also sends a /produce of `burst` items. Looks that get no
    answer leave a gap for up to `outage_seconds` (a producer OOM-killed and restarting), then end it with the error."""
    samples: list[Sample] = []
    started = clock()
    changed = change_at is None
    unanswered_since: float | None = None
    while True:
        now = clock() - started
        if not changed and change_at is not None and now >= change_at:
            change()
            changed = True
        try:
            sent = client.produce(burst) if burst and changed else None
            samples.append(Sample(now, client.producer_status(), client.consumer_status(), sent))
            unanswered_since = None
        except LabError:
            unanswered_since = now if unanswered_since is None else unanswered_since
            if now - unanswered_since >= outage_seconds:
                raise
        if now >= seconds:
            return samples
        sleep(SAMPLE_SECONDS)
