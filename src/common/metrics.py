"""Prometheus plumbing shared by the services: a registry per app and the /metrics endpoint."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Generic, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

SERVICE_LABEL = ["service"]

# Queue waits run from milliseconds (healthy) to many minutes (an unbounded queue in trouble).
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ServiceMetricFactory:
    """Makes a service's metrics in its registry, each with the `service` label set, as the original lab did."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.registry = registry
        self.service = service

    def counter(self, name: str, documentation: str) -> Counter:
        return Counter(name, documentation, SERVICE_LABEL, registry=self.registry).labels(self.service)

    def gauge(self, name: str, documentation: str) -> Gauge:
        return Gauge(name, documentation, SERVICE_LABEL, registry=self.registry).labels(self.service)


K = TypeVar("K", bound=str)


class TotalsCollector(Collector, Generic[K]):
    """Counters whose values are a service's own running totals, read at each scrape. /status and /metrics then show
    the same numbers by construction, and counting an item costs a dict update, not a locked counter per total."""

    def __init__(
        self, service: str, totals: Callable[[], Mapping[K, float]], described: Mapping[K, tuple[str, str]]
    ) -> None:
        self._service = service
        self._totals = totals
        self._described = described
        """Each total's key: (metric name without _total, help text)."""
        self._created = time.time()

    def collect(self) -> Iterator[Metric]:
        totals = self._totals()
        for key, (name, documentation) in self._described.items():
            family = CounterMetricFamily(name, documentation, labels=SERVICE_LABEL)
            family.add_metric([self._service], totals[key], created=self._created)
            yield family


def new_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return registry


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
