"""Prometheus plumbing shared by the services: a registry per app and the /metrics endpoint."""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar, cast

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest
from prometheus_client import utils as prometheus_utils
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from starlette.requests import Request
from starlette.responses import Response

SERVICE_LABEL = ["service"]

float_to_go_string = cast(Callable[[float], str], prometheus_utils.floatToGoString)
"""How prometheus_client writes a bucket's `le` (1.0, 0.005, +Inf): a histogram of ours must write the same label."""

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


class LabelledCounts(Collector):
    """One counter family whose series are a service's own counts by label values, read at each scrape: a count is
    a dict update on the per-item path instead of a locked counter. The label values known in advance are exported
    at 0 from the start (Prometheus' instrumentation advice: a series that appears only at its first event leaves a
    rate, a sum or a ratio of it with no data instead of 0); any other appears once its count is first added to, as
    a prometheus_client Counter's child appears at its first `labels()`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        service: str,
        name: str,
        documentation: str,
        labels: Sequence[str],
        *,
        known: Iterable[tuple[str, ...]] = (),
    ) -> None:
        self._service, self._name, self._documentation = service, name, documentation
        self._labels = [*SERVICE_LABEL, *labels]
        self._counts: dict[tuple[str, ...], float] = {}
        self._created: dict[tuple[str, ...], float] = {}
        for values in known:
            self.add(values, 0)
        registry.register(self)

    def add(self, values: tuple[str, ...], amount: float = 1) -> None:
        if values not in self._counts:
            self._counts[values] = 0
            self._created[values] = time.time()
        self._counts[values] += amount

    def count(self, values: tuple[str, ...]) -> float:
        """The count for these label values (0 before the first add)."""
        return self._counts.get(values, 0)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labels)
        for values, count in list(self._counts.items()):
            family.add_metric([self._service, *values], count, created=self._created[values])
        yield family


class ScrapedHistogram(Collector):
    """A histogram counted in plain Python and exported at each scrape with the series prometheus_client's Histogram
    writes (`_bucket{le}`, `_count`, `_sum`, `_created`): an observation costs a bisection and two additions instead
    of two locked values and a linear search. The services observe from their one event loop, and the scrape runs on
    that loop too, so nothing here needs a lock."""

    def __init__(
        self, registry: CollectorRegistry, service: str, name: str, documentation: str, buckets: Sequence[float]
    ) -> None:
        self._service, self._name, self._documentation = service, name, documentation
        self._bounds = tuple(float(bound) for bound in buckets)
        if list(self._bounds) != sorted(set(self._bounds)) or math.inf in self._bounds:
            raise ValueError(f"{name}: buckets must be finite and increasing, got {buckets}")
        self._le = [float_to_go_string(bound) for bound in (*self._bounds, math.inf)]
        self._counts = [0] * (len(self._bounds) + 1)
        """Observations per bucket, not cumulative; the last one is +Inf's alone."""
        self._sum = 0.0
        self._created = time.time()
        registry.register(self)

    def observe(self, amount: float) -> None:
        self._counts[bisect.bisect_left(self._bounds, amount)] += 1
        self._sum += amount

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=SERVICE_LABEL)
        cumulative = itertools.accumulate(self._counts)
        family.add_metric([self._service], list(zip(self._le, cumulative, strict=True)), self._sum)
        family.samples.append(Sample(f"{self._name}_created", {"service": self._service}, self._created, None, None))
        yield family


def new_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return registry


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
