"""OpenTelemetry, configured by the standard OTEL_* environment variables.

Tracing turns on when an OTLP endpoint or a traces exporter is named (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER). Without one the services use the API's no-op tracer:
nothing is exported, nothing blocks, nothing logs, and the hot path pays next to nothing. The SDK and the
instrumentations are imported only when tracing is on, which keeps an idle service's memory small.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from starlette.applications import Starlette


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
