"""The producer's HTTP endpoints. Each reads the live state from `request.app.state.producer`."""

from __future__ import annotations

import asyncio
import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backpressure_lab.common.echo import echo, names
from backpressure_lab.common.http import ClientError, read_json_object, require_admin
from backpressure_lab.common.settings import SettingsError, as_dict
from backpressure_lab.producer.consumers import EXAMPLE, EndpointsError, parse_endpoints
from backpressure_lab.producer.metrics import PUSH_BACK_STATUS
from backpressure_lab.producer.runtime import ProducerRuntime
from backpressure_lab.producer.status import producer_status

MAX_PRODUCE_COUNT = 100_000
# What one /produce may add to the queue: the producer's whole memory limit in the lab (256 MiB). At the default 64 KiB
# payload that is 4,096 items; 50,000 of them (3.2 GB) would only feed the OOM killer in one request.
MAX_PRODUCE_BYTES = 256 * 1024 * 1024
# Items admitted before /produce yields to the event loop, so /health and the senders keep answering during a burst.
PRODUCE_SLICE = 256


def _runtime(request: Request) -> ProducerRuntime:
    runtime: ProducerRuntime = request.app.state.producer
    return runtime


async def health(request: Request) -> Response:
    """The original lab's /health, field for field."""
    pipeline = _runtime(request).pipeline
    return JSONResponse(
        {
            "status": "ok",
            "service": "producer",
            "queue_mode": pipeline.settings.queue_mode,
            "queue_size": len(pipeline.queue),
        }
    )


async def readiness(request: Request) -> Response:
    if not _runtime(request).ready:
        return JSONResponse({"status": "starting", "service": "producer"}, status_code=503)
    return JSONResponse({"status": "ready", "service": "producer"})


async def status(request: Request) -> Response:
    runtime = _runtime(request)
    return JSONResponse(producer_status(runtime.pipeline, runtime.consumers, runtime.memory, runtime.gate.limit()))


async def read_config(request: Request) -> Response:
    runtime = _runtime(request)
    require_admin(request, runtime.config.admin_token)
    return JSONResponse({"config": as_dict(runtime.pipeline.settings)})


async def change_config(request: Request) -> Response:
    runtime = _runtime(request)
    require_admin(request, runtime.config.admin_token)
    changes = await read_json_object(request, '{"queue_mode": "bounded", "max_queue_size": 100}')
    try:
        outcome = runtime.pipeline.update_settings(changes)
    except SettingsError as error:
        raise ClientError(400, str(error)) from None
    return JSONResponse({"status": "updated", "config": as_dict(outcome.settings), "evicted": outcome.evicted})


def _consumers_document(runtime: ProducerRuntime) -> dict[str, object]:
    consumers = runtime.consumers
    return {
        "endpoints": list(consumers.listed),
        "service_url": consumers.service_url,
        "sending_to": list(consumers.urls),
        "sender_concurrency_total": runtime.gate.maximum,
    }


async def read_consumers(request: Request) -> Response:
    runtime = _runtime(request)
    require_admin(request, runtime.config.admin_token)
    return JSONResponse(_consumers_document(runtime))


async def change_consumers(request: Request) -> Response:
    """The operator lists the ready consumer pods here; an empty list sends to the consumer Service again."""
    runtime = _runtime(request)
    require_admin(request, runtime.config.admin_token)
    body = await read_json_object(request, EXAMPLE)
    unknown = set(body) - {"endpoints"}
    if unknown or "endpoints" not in body:
        raise ClientError(400, f"send only 'endpoints', a list of consumer base URLs, such as {EXAMPLE}")
    try:
        listed = parse_endpoints(body["endpoints"])
    except EndpointsError as error:
        raise ClientError(400, str(error)) from None
    runtime.use_consumers(listed)
    return JSONResponse({"status": "updated", **_consumers_document(runtime)})


async def clear_queue(request: Request) -> Response:
    runtime = _runtime(request)
    require_admin(request, runtime.config.admin_token)
    return JSONResponse({"status": "cleared", "items_removed": runtime.pipeline.dispatch.clear_queue()})


async def produce(request: Request) -> Response:
    pipeline = _runtime(request).pipeline
    body = await read_json_object(request, '{"count": 1000}')
    unknown = set(body) - {"count"}
    if unknown:
        raise ClientError(400, f"unknown field(s) {names(unknown)}; /produce takes only 'count'")
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PRODUCE_COUNT:
        raise ClientError(400, f"count must be an integer from 1 to {MAX_PRODUCE_COUNT} (got {echo(count)})")
    item_bytes = pipeline.settings.payload_bytes
    if count * item_bytes > MAX_PRODUCE_BYTES:
        raise ClientError(
            400,
            f"count {count} x payload_bytes {item_bytes} is more than one /produce may add "
            f"({MAX_PRODUCE_BYTES // (1024 * 1024)} MiB): send at most {MAX_PRODUCE_BYTES // max(item_bytes, 1)} "
            "items at this payload size",
        )
    produced = rejected = 0
    retry_after_seconds = 0.0
    for start in range(0, count, PRODUCE_SLICE):
        outcome = pipeline.intake.admit_burst(min(PRODUCE_SLICE, count - start))
        produced, rejected = produced + outcome.produced, rejected + outcome.rejected
        retry_after_seconds = max(retry_after_seconds, outcome.retry_after_seconds)
        await asyncio.sleep(0)
    payload: dict[str, object] = {"produced": produced, "rejected": rejected, "queue_size": len(pipeline.queue)}
    if not rejected:
        return JSONResponse(payload)
    # The original answered 200 with the counts, and its clients count any other status as an error: 200 stays the
    # default. Retry-After tells a client that reads headers when to try again; 429 is the push-back lesson's setting.
    payload["error"] = f"{rejected} of {count} items rejected by the {pipeline.settings.queue_mode} queue"
    retry_after = str(max(1, math.ceil(retry_after_seconds)))
    if pipeline.settings.produce_overload_status == PUSH_BACK_STATUS:
        pipeline.metrics.pushed_back()
    return JSONResponse(
        payload, status_code=pipeline.settings.produce_overload_status, headers={"Retry-After": retry_after}
    )
