"""The producer's ASGI app, assembled in one place."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from backpressure_lab.common import telemetry
from backpressure_lab.common.http import EXCEPTION_HANDLERS
from backpressure_lab.common.metrics import metrics_endpoint, new_registry
from backpressure_lab.producer import routes
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.runtime import ProducerConfig, ProducerRuntime


def create_app(config: ProducerConfig | None = None) -> Starlette:
    registry = new_registry()
    shutdown_tracing = telemetry.configure_tracing("producer")
    runtime = ProducerRuntime(config or ProducerConfig(), ProducerMetrics(registry), shutdown_tracing is not None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with runtime.running(shutdown_tracing):
            yield

    app = Starlette(
        routes=[
            Route("/health", routes.health),
            Route("/healthz", routes.health),
            Route("/readyz", routes.readiness),
            Route("/status", routes.status),
            Route("/metrics", metrics_endpoint(registry)),
            Route("/admin/config", routes.change_config, methods=["POST"]),
            Route("/admin/config", routes.read_config, methods=["GET"]),
            Route("/admin/consumers", routes.change_consumers, methods=["PUT"]),
            Route("/admin/consumers", routes.read_consumers, methods=["GET"]),
            Route("/admin/clear-queue", routes.clear_queue, methods=["POST"]),
            Route("/produce", routes.produce, methods=["POST"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.producer = runtime
    return telemetry.instrument_asgi(app, runtime.tracing)
