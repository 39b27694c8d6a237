"""What tracing costs per item: CPU of the producer and the consumer at a fixed rate, tracing off and on.

bench/throughput.py measures saturation, where the services are CPU-bound and any per-item cost shows up 1:1 as lost
throughput. This measures the same cost where the lab runs (tens to hundreds of items/s): CPU microseconds per item
and the share of a core, with the chart's OTEL_* environment and Jaeger (the chart's config) on the same machine.

Run: .venv/bin/python -m tests.tracing.overhead [--rate 200] [--seconds 15]
(needs `tools/build-tools.sh jaeger helm`)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.machine import describe
from tests.services.lab import Lab, running_lab, settings_env, wait_until
from tests.tool_cache import find_helm
from tests.tracing.jaeger import container_env, jaeger_binary, manifest, render_chart, running_jaeger

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def measure(lab: Lab, rate: float, seconds: float) -> tuple[float, float]:
    """(items sent, CPU seconds of producer + consumer) over `seconds` at `rate` items/s."""
    lab.consumer.admin("/admin/config", {"processing_time_ms": 0, "concurrency": 16})
    lab.producer.admin("/admin/config", {"sender_concurrency": 4, "production_rate": rate})
    time.sleep(2)  # warm up
    pids = [lab.producer.process.pid, lab.consumer.process.pid]
    sent_before = lab.producer.status()["stats"]["sent"]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    time.sleep(seconds)
    cpu_after = sum(cpu_seconds(pid) for pid in pids)
    sent_after = lab.producer.status()["stats"]["sent"]
    lab.producer.admin("/admin/config", {"production_rate": 0})
    wait_until(lambda: lab.producer.status()["queue"]["size"] == 0, timeout=30)
    return sent_after - sent_before, cpu_after - cpu_before


def run(label: str, rate: float, seconds: float, env: dict[str, str], directory: Path) -> float:
    paused = settings_env(directory, "producer: {production_rate: 0, payload_bytes: 256}\n")
    with running_lab(directory, producer_env={**paused, **env}, consumer_env=env) as lab:
        items, cpu = measure(lab, rate, seconds)
    per_item = cpu / items * 1e6
    print(
        f"{label:12s} {items / seconds:7.1f} items/s: producer + consumer CPU {cpu / seconds * 100:5.1f} % of a core, "
        f"{per_item:6.0f} us per item"
    )
    return per_item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    jaeger, helm = jaeger_binary(), find_helm(path_too=False)
    if jaeger is None or helm is None:
        raise SystemExit("needs jaeger and helm in the tool cache: tools/build-tools.sh jaeger helm")
    print(describe())
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        chart = render_chart(helm, directory / "helm")
        config: dict[str, Any] = yaml.safe_load(manifest(chart, "ConfigMap", "jaeger")["data"]["config.yaml"])
        off = run("tracing off", args.rate, args.seconds, {}, directory)
        with running_jaeger(jaeger, config, directory) as running:

            def otel(component: str) -> dict[str, str]:
                env = {k: v for k, v in container_env(chart, component).items() if k.startswith("OTEL_")}
                return {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": running.otlp_http_url}

            producer_env, consumer_env = otel("producer"), otel("consumer")
            paused = settings_env(directory, "producer: {production_rate: 0, payload_bytes: 256}\n")
            with running_lab(directory, producer_env={**paused, **producer_env}, consumer_env=consumer_env) as lab:
                items, cpu = measure(lab, args.rate, args.seconds)
                jaeger_cpu = cpu_seconds(running.process.pid)
            on = cpu / items * 1e6
            print(
                f"{'tracing on':12s} {items / args.seconds:7.1f} items/s: producer + consumer CPU "
                f"{cpu / args.seconds * 100:5.1f} % of a core, {on:6.0f} us per item "
                f"(Jaeger itself: {jaeger_cpu:.1f} CPU s in total)"
            )
    print(f"tracing adds {on - off:.0f} us of CPU per item (+{(on / off - 1) * 100:.0f} %)")


if __name__ == "__main__":
    main()
