"""The consumer's HTTP endpoints. Each reads the live state from `request.app.state.consumer`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backpressure_lab.common.http import ClientError, read_json_object, require_admin
from backpressure_lab.common.settings import Bounds, SettingsError, as_dict, check_value
from backpressure_lab.consumer.processing import config_changes, slowed_changes
from backpressure_lab.consumer.work_item import ITEM_BODY_LIMIT, ITEM_EXAMPLE, ItemError, item_id_of
from backpressure_lab.consumer.worker import Consumer

FACTOR = Bounds("number", "slow-down or speed-up factor", minimum=0, exclusive_minimum=True, maximum=1000)


def _consumer(request: Request) -> Consumer:
    consumer: Consumer = request.app.state.consumer
    return consumer


async def health(request: Request) -> Response:
    return JSONResponse({"status": "healthy", "service": "consumer"})


async def readiness(request: Request) -> Response:
    return JSONResponse({"status": "ready", "service": "consumer"})


async def status(request: Request) -> Response:
    return JSONResponse(_consumer(request).status())


async def process(request: Request) -> Response:
    consumer = _consumer(request)
    if not consumer.try_enter():
        retry_after = consumer.refuse()
        return JSONResponse(
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
                item_id = item_id_of(item)
            except ItemError as error:
                raise ClientError(400, f"{error}; send {ITEM_EXAMPLE}") from None
        except ClientError:
            consumer.count_failure()
            raise
        elapsed = await consumer.process(str(item_id))
    finally:
        consumer.leave()
    return JSONResponse({"status": "processed", "id": item_id, "processing_time_ms": round(elapsed * 1000, 3)})


def _apply(consumer: Consumer, changes: dict[str, Any]) -> Response:
    try:
        settings = consumer.update(changes)
    except SettingsError as error:
        raise ClientError(400, str(error)) from None
    return JSONResponse({"status": "updated", "config": as_dict(settings)})


async def read_config(request: Request) -> Response:
    return JSONResponse({"config": as_dict(_consumer(request).settings)})


async def change_config(request: Request) -> Response:
    consumer = _consumer(request)
    require_admin(request, consumer.config.admin_token)
    changes = await read_json_object(request, '{"processing_time_ms": 100}')
    return _apply(consumer, config_changes(consumer.settings, changes))


async def _factor(request: Request) -> float:
    body = await read_json_object(request, '{"factor": 5}')
    unknown = set(body) - {"factor"}
    if unknown:
        raise ClientError(
            400, f"unknown field(s) {', '.join(sorted(unknown))}; send only 'factor', e.g. {{\"factor\": 5}}"
        )
    try:
        return float(check_value("factor", FACTOR, body.get("factor", 2)))
    except SettingsError as error:
        raise ClientError(400, str(error)) from None


async def slow_down(request: Request) -> Response:
    consumer = _consumer(request)
    require_admin(request, consumer.config.admin_token)
    return _apply(consumer, slowed_changes(consumer.settings, await _factor(request)))


async def speed_up(request: Request) -> Response:
    consumer = _consumer(request)
    require_admin(request, consumer.config.admin_token)
    return _apply(consumer, slowed_changes(consumer.settings, 1.0 / await _factor(request)))
