"""OpenTelemetry, configured by the standard OTEL_* environment variables.

Tracing turns on when an OTLP endpoint or a traces exporter is named (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER). Without one the services use the API's no-op tracer:
nothing is exported, nothing blocks, nothing logs, and the hot path pays next to nothing. The SDK and the
instrumentations are imported only when tracing is on, which keeps an idle service's memory small.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span
from starlette.applications import Starlette

NO_SPAN: AbstractContextManager[None] = contextlib.nullcontext()


def tracing_requested(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure_tracing(service_name: str) -> Callable[[], None] | None:
    """Install a tracer provider exporting over OTLP/HTTP; return its shutdown, or None when tracing is off."""
    if not tracing_requested():
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create also reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, which win over this default.
    resource = Resource.create({SERVICE_NAME: service_name} | _service_name_override())
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider.shutdown


class Spans:
    """A component's spans while a tracer provider is installed, and no span at all while tracing is off.

    The API's no-op tracer still makes a span object and switches the context twice per span, which was a tenth of
    the producer's CPU per item with tracing off (docs/performance.md); `start` then costs one attribute test.
    Make it after `configure_tracing`: it asks once whether a provider is installed.
    """

    def __init__(self, component: str) -> None:
        self._tracer = trace.get_tracer(component)
        self.enabled = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)

    def start(self, name: str, start_time: int | None = None) -> AbstractContextManager[Span | None]:
        """A span made current for the `with` block, or `None` while tracing is off."""
        if not self.enabled:
            return NO_SPAN
        return self._tracer.start_as_current_span(name, start_time=start_time)

    def record(self, name: str, start_time: int, end_time: int) -> None:
        """A finished child span of the current one (the queue wait, measured after the fact)."""
        if self.enabled:
            self._tracer.start_span(name, start_time=start_time).end(end_time=end_time)


def _service_name_override() -> dict[str, str]:
    name = os.environ.get("OTEL_SERVICE_NAME")
    return {"service.name": name} if name else {}


def instrument_asgi(app: Starlette, enabled: bool) -> Starlette:
    """Add OpenTelemetry's server middleware to the app, so a propagated trace context is picked up."""
    if not enabled:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    # The middleware's per-message "receive" and "send" spans say nothing a learner needs and cost a third of the
    # spans per item (docs/tracing.md).
    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls="health,healthz,readyz,metrics,status",
        exclude_spans=["receive", "send"],
    )
    return app


def client_trace_configs(enabled: bool) -> list[Any]:
    """aiohttp trace configs that make a client span per request and inject the trace context into its headers."""
    if not enabled:
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    return [create_trace_config()]
