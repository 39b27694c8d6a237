"""What `bplab status` prints and what `bplab watch` draws: built from /status, /metrics and the cluster's config."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from backpressure_lab.cli.client import LabClient, counter_total

BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int) -> str:
    recent = values[-width:]
    if not recent:
        return ""
    top = max(recent) or 1.0
    return "".join(BARS[min(len(BARS) - 1, round(value / top * (len(BARS) - 1)))] for value in recent)


def bar(fraction: float, width: int) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


@dataclass
class Snapshot:
    at: float
    producer: dict[str, Any]
    consumer: dict[str, Any]
    answered_429: float
    answered_503: float
    oom_kills: int | None = None
    restarts: int | None = None


def take_snapshot(client: LabClient, oom_kills: int | None = None, restarts: int | None = None) -> Snapshot:
    producer_metrics = client.metrics("producer")
    consumer_metrics = client.metrics("consumer")
    return Snapshot(
        at=time.monotonic(),
        producer=client.producer_status(),
        consumer=client.consumer_status(),
        answered_429=counter_total(producer_metrics, "backpressure_overload_responses_total", code="429"),
        answered_503=counter_total(consumer_metrics, "backpressure_overload_responses_total", code="503"),
        oom_kills=oom_kills,
        restarts=restarts,
    )


# Rates are taken over the last few seconds: a refresh every 0.4 s against a consumer that takes 0.5 s per item
# would otherwise flicker between 0 and 2.5 items/s.
RATE_WINDOW_SECONDS = 3.0


@dataclass
class History:
    """The last snapshots, for rates and the sparkline."""

    depths: deque[float] = field(default_factory=lambda: deque(maxlen=120))
    recent: deque[Snapshot] = field(default_factory=deque)
    rates: dict[str, float] = field(default_factory=dict)

    @property
    def previous(self) -> Snapshot | None:
        return self.recent[0] if self.recent else None

    def add(self, snapshot: Snapshot) -> None:
        self.depths.append(float(snapshot.producer["queue"]["size"]))
        while len(self.recent) > 1 and snapshot.at - self.recent[1].at >= RATE_WINDOW_SECONDS:
            self.recent.popleft()
        if self.previous is not None:
            elapsed = max(snapshot.at - self.previous.at, 1e-6)
            before, after = self.previous.producer["stats"], snapshot.producer["stats"]
            for name in ("produced", "sent", "rejected", "dropped"):
                self.rates[name] = max(0.0, (after[name] - before[name]) / elapsed)
            self.rates["processed"] = max(
                0.0,
                (snapshot.consumer["state"]["items_processed"] - self.previous.consumer["state"]["items_processed"])
                / elapsed,
            )
            self.rates["429"] = max(0.0, (snapshot.answered_429 - self.previous.answered_429) / elapsed)
            self.rates["503"] = max(0.0, (snapshot.answered_503 - self.previous.answered_503) / elapsed)
        self.recent.append(snapshot)


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value / 1024 / 1024:.1f} MiB"


def memory_line(process: dict[str, Any], width: int = 30) -> Text:
    rss, limit, left = process["rss_bytes"], process["memory_limit_bytes"], process["seconds_to_limit"]
    if not limit:
        return Text(f"memory  {_mib(rss)} RSS (no memory limit: local mode)")
    fraction = rss / limit
    colour = "green" if fraction < 0.7 else "yellow" if fraction < 0.9 else "red"
    to_limit = "not growing" if left is None else f"limit in {left:.0f} s"
    return Text.assemble("memory  ", (bar(fraction, width), colour), f" {_mib(rss)} / {_mib(limit)}  ({to_limit})")


def watch_view(snapshot: Snapshot, history: History, target: str, footer: str | None = "Ctrl-C quits") -> Panel:
    queue = snapshot.producer["queue"]
    config = snapshot.producer["config"]
    stats = snapshot.producer["stats"]
    consumer = snapshot.consumer
    rates = history.rates
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column()
    capacity = f" / {queue['capacity']}" if queue["capacity"] else ""
    table.add_row("queue", f"{queue['size']}{capacity} items, {queue['memory_mb']} MB, mode {queue['mode']}")
    table.add_row("depth", Text(sparkline(list(history.depths), 60), style="cyan"))
    table.add_row("", memory_line(snapshot.producer["process"]))
    table.add_row(
        "rates/s",
        f"produced {rates.get('produced', 0):.1f}  sent {rates.get('sent', 0):.1f}  "
        f"processed {rates.get('processed', 0):.1f}",
    )
    table.add_row(
        "losses",
        f"rejected {stats['rejected']} ({rates.get('rejected', 0):.1f}/s)  dropped {stats['dropped']}  "
        f"429s {rates.get('429', 0):.1f}/s  503s {rates.get('503', 0):.1f}/s",
    )
    table.add_row(
        "settings",
        f"production {config['production_rate']}/s  "
        f"rate limit {'off' if config['rate_limit'] is None else str(config['rate_limit']) + '/s'}  "
        f"senders {config['sender_concurrency']} per consumer",
    )
    consumers = snapshot.producer.get("consumers", {}).get("count", 1)
    per_item, at_once = consumer["config"]["effective_processing_time_ms"], consumer["config"]["concurrency"]
    table.add_row("consumers", f"{consumers}, each {per_item} ms per item, {at_once} at once")
    oom = "—" if snapshot.oom_kills is None else str(snapshot.oom_kills)
    restarts = "—" if snapshot.restarts is None else str(snapshot.restarts)
    table.add_row("restarts", f"OOM kills {oom}  producer restarts {restarts}")
    return Panel(table, title=f"backpressure-lab — {target}", subtitle=footer)


def status_view(snapshots: list[Snapshot], config_status: dict[str, Any] | None, target: str) -> Group:
    """One look at the lab; the rates come from the first to the last of `snapshots` (take two, a second apart)."""
    history = History()
    for snapshot in snapshots:
        history.add(snapshot)
    parts: list[Any] = [watch_view(snapshots[-1], history, target, footer=None)]
    if config_status is not None:
        conditions = {c["type"]: c["status"] for c in config_status.get("conditions", [])}
        parts.append(
            Text(
                f"BackpressureConfig: Applied={conditions.get('Applied', '?')} "
                f"Invalid={conditions.get('Invalid', '?')} "
                f"OOM kills={config_status.get('oomKills', 0)}"
            )
        )
    return Group(*parts)
