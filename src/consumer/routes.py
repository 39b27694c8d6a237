"""The consumer's HTTP endpoints. Each reads the live state from `request.app.state.consumer`."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backpressure_lab.common.echo import names
from backpressure_lab.common.http import ClientError, FastJSONResponse, read_json_object, require_admin
from backpressure_lab.common.settings import Bounds, SettingsError, as_dict, check_value, plain
from backpressure_lab.consumer.processing import (
    config_changes,
    effective_processing_ms,
    max_throughput_text,
    slowed_changes,
    sped_up_changes,
)
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.consumer.status import consumer_status
from backpressure_lab.consumer.work_item import ITEM_BODY_LIMIT, ITEM_EXAMPLE, ItemError, deadline_of, item_id_of
from backpressure_lab.consumer.worker import Consumer

FACTOR = Bounds("number", "slow-down or speed-up factor", minimum=0, exclusive_minimum=True, maximum=1000)


def _consumer(request: Request) -> Consumer:
    consumer: Consumer = request.app.state.consumer
    return consumer


async def health(request: Request) -> Response:
    """The original lab's /health, field for field: the time per item as the consumer runs it."""
    settings = _consumer(request).settings
    return JSONResponse(
        {
            "status": "ok",
            "service": "consumer",
            "processing_time_ms": _effective_ms(settings),
            "variable_processing": settings.variable_processing,
        }
    )


def _effective_ms(settings: ConsumerSettings) -> int | float:
    return plain(round(effective_processing_ms(settings), 3))


async def readiness(request: Request) -> Response:
    return JSONResponse({"status": "ready", "service": "consumer"})


async def status(request: Request) -> Response:
    return JSONResponse(consumer_status(_consumer(request)))


async def process(request: Request) -> Response:
    consumer = _consumer(request)
    if not consumer.try_enter():
        retry_after = consumer.refuse()
        return FastJSONResponse(
            {
                "error": f"consumer is at its concurrency limit ({consumer.settings.concurrency}); retry later",
                "retry_after_seconds": retry_after,
            },
            status_code=503,
            headers={"Retry-After": str(retry_after)},
        )
    try:
        try:
            item = await read_json_object(request, ITEM_EXAMPLE, limit=ITEM_BODY_LIMIT)
            try:
                item_id, deadline = item_id_of(item), deadline_of(item)
            except ItemError as error:
                raise ClientError(400, f"{error}; send {ITEM_EXAMPLE}") from None
        except ClientError:
            consumer.count_failure()
            raise
        try:
            elapsed = await consumer.process(str(item_id), deadline)
        except asyncio.CancelledError:
            # The service is stopping and uvicorn cuts off what is still under way past the grace: a 503 tells the
            # sender to retry the item elsewhere (uncaught, the cancellation would be a 500 and a traceback).
            consumer.interrupted += 1
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return FastJSONResponse(
                {"error": "consumer is stopping; send the item to another consumer"},
                status_code=503,
                headers={"Retry-After": "1", "Connection": "close"},
            )
    finally:
        consumer.leave()
    if elapsed is None:  # drop_late_work: answered at once, so the sender moves on to work that can still make it
        return FastJSONResponse({"status": "expired", "id": item_id, "processing_time_ms": 0.0})
    return FastJSONResponse({"status": "processed", "id": item_id, "processing_time_ms": round(elapsed * 1000, 3)})


def _apply(consumer: Consumer, changes: dict[str, Any]) -> ConsumerSettings:
    try:
        return consumer.update(changes)
    except SettingsError as error:
        raise ClientError(400, str(error)) from None


async def read_config(request: Request) -> Response:
    consumer = _consumer(request)
    require_admin(request, consumer.config.admin_token)
    return JSONResponse({"config": as_dict(consumer.settings)})


async def change_config(request: Request) -> Response:
    consumer = _consumer(request)
    require_admin(request, consumer.config.admin_token)
    changes = await read_json_object(request, '{"processing_time_ms": 100}')
    settings = _apply(consumer, config_changes(consumer.settings, changes))
    # The settings as set (the operator compares them with what it pushed), plus the original's max_throughput.
    return JSONResponse(
        {"status": "updated", "config": {**as_dict(settings), "max_throughput": max_throughput_text(settings)}}
    )


async def _factor(request: Request) -> float:
    # The original's factor defaults to 2, so a bare `curl -X POST .../admin/slow-down` is a request too.
    body = await read_json_object(request, '{"factor": 5}', empty_means={})
    unknown = set(body) - {"factor"}
    if unknown:
        raise ClientError(400, f"unknown field(s) {names(unknown)}; send only 'factor', e.g. {{\"factor\": 5}}")
    try:
        return float(check_value("factor", FACTOR, body.get("factor", 2)))
    except SettingsError as error:
        raise ClientError(400, str(error)) from None


def _changed_speed(status: str, before: ConsumerSettings, after: ConsumerSettings, factor: float) -> Response:
    """The original's slow-down/speed-up answer (old and new time per item, the factor, the new max throughput),
    and the settings as set."""
    return JSONResponse(
        {
            "status": status,
            "old_processing_time_ms": _effective_ms(before),
            "new_processing_time_ms": _effective_ms(after),
            "factor": plain(factor),
            "new_max_throughput": max_throughput_text(after),
            "config": as_dict(after),
        }
    )


async def slow_down(request: Request) -> Response:
    consumer = _consumer(request)
    require_admin(request, consumer.config.admin_token)
    factor, before = await _factor(request), consumer.settings
    return _changed_speed("slowed_down", before, _apply(consumer, slowed_changes(before, factor)), factor)


async def speed_up(request: Request) -> Response:
    consumer = _consumer(request)
    require_admin(request, consumer.config.admin_token)
    factor, before = await _factor(request), consumer.settings
    return _changed_speed("sped_up", before, _apply(consumer, sped_up_changes(before, factor)), factor)
