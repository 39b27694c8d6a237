"""The lab's per-item cost against the bare framework's one hop, in one invocation (issue R).

Ceiling: an aiohttp client sending the lab's item shape (id, created_at, a 1 KiB payload; JSON both ways) to a bare
Starlette + uvicorn server with N requests in flight. Lab: the producer drains a backlog of the same items to the
consumer (processing 0 ms, tracing off), N sends in flight, the consumer's concurrency above N. Same payload, same
concurrency, same interpreter and libraries. Prints both rates and their ratio for each N, and the machine.
Run: .venv/bin/python bench/one_hop.py [--items 20000] [--in-flight 1 16 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from tests.ports import free_port
from tests.services.lab import REPO, call, running_lab, settings_env, wait_until

PAYLOAD_BYTES = 1024


async def bare_rate(url: str, items: int, in_flight: int) -> float:
    payload = "x" * PAYLOAD_BYTES
    bodies = [
        json.dumps({"id": str(uuid.uuid4()), "created_at": time.time(), "payload": payload}).encode()
        for _ in range(items)
    ]
    next_body = iter(bodies)
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            for body in next_body:
                async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                    json.loads(await response.read())

        started = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(in_flight)))
        return items / (time.monotonic() - started)


def ceiling(items: int, in_flight: int) -> float:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.bare_server", str(port)], cwd=REPO, start_new_session=True)
    try:
        assert wait_until(lambda: call("POST", f"http://127.0.0.1:{port}/process", {"id": "w"}).status == 200, 20)
        return asyncio.run(bare_rate(f"http://127.0.0.1:{port}/process", items, in_flight))
    finally:
        server.terminate()
        server.wait(timeout=10)


def lab_rate(items: int, in_flight: int) -> float:
    paused = f"producer: {{production_rate: 0, payload_bytes: {PAYLOAD_BYTES}}}\n"
    with (
        tempfile.TemporaryDirectory() as directory,
        running_lab(Path(directory), producer_env=settings_env(Path(directory), paused)) as lab,
    ):
        lab.consumer.admin("/admin/config", {"processing_time_ms": 0, "concurrency": max(64, 2 * in_flight)})
        lab.producer.admin("/admin/config", {"sender_concurrency": in_flight})
        time.sleep(1)
        before = lab.producer.status()["stats"]
        started = time.monotonic()
        # The backlog arrives in /produce bursts (4,096 items at most each); the senders drain it meanwhile.
        produced = 0
        while produced < items:
            produced += lab.producer.post("/produce", {"count": min(4096, items - produced)}).body["produced"]

        def drained() -> bool:
            stats = lab.producer.status()["stats"]
            return bool(stats["sent"] - before["sent"] >= items)

        assert wait_until(drained, timeout=600, interval=0.05), "the backlog did not drain"
        return items / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    print(describe())
    print(f"{args.items} items of {PAYLOAD_BYTES} B, JSON both ways, tracing off, processing 0 ms")
    for in_flight in args.in_flight:
        bare = ceiling(args.items, in_flight)
        lab = lab_rate(args.items, in_flight)
        print(f"{in_flight:>3} in flight: bare one hop {bare:,.0f} req/s, lab drain {lab:,.0f} items/s, ", end="")
        print(f"ratio {lab / bare:.2f}")


if __name__ == "__main__":
    main()
