"""The generation loop: creates items at `production_rate` per second and offers each one for admission."""

from __future__ import annotations

import asyncio
import time

from backpressure_lab.producer.live_settings import SETTINGS_POLL_SECONDS
from backpressure_lab.producer.pacing import Schedule
from backpressure_lab.producer.pipeline import Pipeline

# Admitting several due items before yielding keeps high rates (thousands a second) cheap.
MAX_ITEMS_PER_STEP = 64


async def run_generator(pipeline: Pipeline) -> None:
    now = time.monotonic()
    schedule = Schedule(next_due=now, rate=pipeline.settings.production_rate)
    last_emitted = now
    settings_changed = pipeline.live.listener()
    while True:
        if pipeline.settings.production_rate != schedule.rate:
            schedule.change_rate(pipeline.settings.production_rate, last_emitted)
        now = time.monotonic()
        due_in = schedule.due_in(now)
        if due_in is None or due_in > 0:
            wait = SETTINGS_POLL_SECONDS if due_in is None else min(due_in, SETTINGS_POLL_SECONDS)
            await pipeline.live.wait_for_change(settings_changed, wait)
            continue
        for _ in range(MAX_ITEMS_PER_STEP):
            waited = await pipeline.intake.admit_generated()
            last_emitted = time.monotonic()
            schedule.emitted(last_emitted, waited=waited)
            due_in = schedule.due_in(last_emitted)
            if due_in is None or due_in > 0 or pipeline.settings.production_rate != schedule.rate:
                break
        await asyncio.sleep(0)
