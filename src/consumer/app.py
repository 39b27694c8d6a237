"""The consumer's ASGI app, assembled in one place."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backpressure_lab.common import telemetry
from backpressure_lab.common.http import EXCEPTION_HANDLERS
from backpressure_lab.common.metrics import metrics_endpoint, new_registry
from backpressure_lab.common.service import STOP_GRACE_SECONDS
from backpressure_lab.consumer import routes
from backpressure_lab.consumer.metrics import ConsumerMetrics
from backpressure_lab.consumer.worker import Consumer, ConsumerConfig


def create_app(config: ConsumerConfig | None = None) -> Starlette:
    registry = new_registry()
    shutdown_tracing = telemetry.configure_tracing("consumer")
    consumer = Consumer(config or ConsumerConfig(), ConsumerMetrics(registry))
    export_metrics = metrics_endpoint(registry)

    async def metrics(request: Request) -> Response:
        consumer.throughput()
        response: Response = await export_metrics(request)
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            # uvicorn has given the requests under way STOP_GRACE_SECONDS and cut off the rest (common/service.py).
            print(stop_line(consumer.interrupted + consumer.in_flight), file=sys.stderr, flush=True)
            if shutdown_tracing is not None:
                shutdown_tracing()

    app = Starlette(
        # /process first: Starlette tries the routes in order, and every item comes through it.
        routes=[
            Route("/process", routes.process, methods=["POST"]),
            Route("/health", routes.health),
            Route("/healthz", routes.health),
            Route("/readyz", routes.readiness),
            Route("/status", routes.status),
            Route("/metrics", metrics),
            Route("/admin/config", routes.change_config, methods=["POST"]),
            Route("/admin/config", routes.read_config, methods=["GET"]),
            Route("/admin/slow-down", routes.slow_down, methods=["POST"]),
            Route("/admin/speed-up", routes.speed_up, methods=["POST"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.consumer = consumer
    return telemetry.instrument_asgi(app, shutdown_tracing is not None)


def stop_line(cut_off: int) -> str:
    """The one line a stopping consumer logs: the items whose processing the stop cut off (each answered 503, so that
    its sender retries it; the consumer queues nothing)."""
    if not cut_off:
        return "consumer stopped: no items in flight"
    return (
        f"consumer stopped: {cut_off} item{'' if cut_off == 1 else 's'} cut off in flight after a "
        f"{STOP_GRACE_SECONDS:g} s grace (answered 503, so that the sender retries {'it' if cut_off == 1 else 'them'})"
    )
