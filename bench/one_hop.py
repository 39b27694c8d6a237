"""The lab's per-item cost against the bare framework's one hop, in one invocation (issue R).

Ceiling: an aiohttp client sending the lab's item shape (id, created_at, a 1 KiB payload; JSON both ways) to a bare
Starlette + uvicorn server with N requests in flight. Lab: the producer drains a backlog of the same items to the
consumer (processing 0 ms, tracing off), N sends in flight, the consumer's concurrency above N. Same payload, same
concurrency, same interpreter, libraries and event loop (uvicorn's: uvloop where installed). Prints both rates and their
ratio for each N, and the machine.
Run: .venv/bin/python bench/one_hop.py [--items 20000] [--in-flight 1 16 64] [--rounds 3] [--pin] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from uvicorn.loops.auto import auto_loop_factory

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cpu_profile
from bench.drain import drained_after, processed
from bench.machine import describe
from tests.ports import free_port
from tests.services.lab import REPO, Lab, call, running_lab, settings_env, wait_until

PAYLOAD_BYTES = 1024
WARM_UP_ITEMS = 2000
"""Sent by each side before the measured pairs: connections made, code paths warm."""
PROFILE_SECONDS = 4
SERVICE_ENTRY_POINTS = ("producer/__main__.py", "consumer/__main__.py", "common/service.py")
"""Modules on every sample's stack, left out of the profile's list of where the lab's calls went."""


def new_body() -> bytes:
    """The item as the lab's producer makes and sends it: a fresh id, clock reading and payload, encoded per send."""
    item = {"id": str(uuid.uuid4()), "created_at": time.time(), "payload": "x" * PAYLOAD_BYTES}
    return json.dumps({**item, "queue_latency_seconds": 0.0}).encode()


@dataclass(frozen=True)
class Run:
    rate: float
    """Items (requests) per second."""
    sender_cpu: float
    """CPU seconds per item of the sending process: the bare client, or the producer (its intake included)."""
    receiver_cpu: float
    """CPU seconds per item of the bare server, or of the consumer."""
    profiles: dict[str, cpu_profile.Profile]
    """With --profile: where each process spent its CPU during the run, by process name."""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bare_rate(url: str, items: int, in_flight: int) -> float:
    remaining = iter(range(items))
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            for _ in remaining:
                async with session.post(url, data=new_body(), headers={"Content-Type": "application/json"}) as answer:
                    json.loads(await answer.read())

        started = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(in_flight)))
        return items / (time.monotonic() - started)


class Profiler:
    """py-spy on the named processes for PROFILE_SECONDS, from `start` on; nothing when not asked for."""

    def __init__(self, directory: Path | None, pids: dict[str, int]) -> None:
        self._directory, self._pids = directory, pids
        self._recorders: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        if self._directory is not None:
            self._recorders = [
                cpu_profile.start(pid, PROFILE_SECONDS, self._directory / f"{name}.raw")
                for name, pid in self._pids.items()
            ]

    def profiles(self) -> dict[str, cpu_profile.Profile]:
        if self._directory is None:
            return {}
        for recorder in self._recorders:
            recorder.wait(timeout=60)
        directory = self._directory
        return {name: cpu_profile.read(directory / f"{name}.raw", PROFILE_SECONDS) for name in self._pids}


@dataclass(frozen=True)
class Cores:
    """Which core each side runs on (`--pin`): the sender (the bare client, which is this process, or the producer)
    on one, the receiver (the bare server or the consumer) on the other. Unpinned, the scheduler may put both sides and
    the benchmark's own polling on one core for a while, one more source of the pairs' spread."""

    sender: set[int] | None = None
    receiver: set[int] | None = None

    def place(self, pid: int, side: set[int] | None) -> None:
        if side is not None:
            os.sched_setaffinity(pid, side)


@dataclass(frozen=True)
class BareServer:
    url: str
    """Its /process URL."""
    pid: int


@contextlib.contextmanager
def bare_server(cores: Cores) -> Iterator[BareServer]:
    """The bare Starlette app under uvicorn, on the receiving core."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.bare_server", str(port)], cwd=REPO, start_new_session=True)
    try:
        assert wait_until(lambda: call("POST", f"http://127.0.0.1:{port}/process", {"id": "w"}).status == 200, 20)
        cores.place(server.pid, cores.receiver)
        yield BareServer(f"http://127.0.0.1:{port}/process", server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)


def ceiling(server: BareServer, items: int, in_flight: int, profile: Path | None, cores: Cores) -> Run:
    everywhere = os.sched_getaffinity(0)
    try:
        cores.place(0, cores.sender)
        # py-spy samples this very process too: the bare client's costs beside the producer's, item for item.
        profiler = Profiler(profile, {"bare client": os.getpid(), "bare server": server.pid})
        client_before, server_before = time.process_time(), cpu_seconds(server.pid)
        profiler.start()
        # On the event loop uvicorn runs the producer on (uvloop where it is installed, as in the lab's image): a
        # ceiling on asyncio's own loop would be lower than the producer's, and the ratio flattering.
        with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
            rate = runner.run(bare_rate(server.url, items, in_flight))
        client, server_cpu = time.process_time() - client_before, cpu_seconds(server.pid) - server_before
        return Run(rate, client / items, server_cpu / items, profiler.profiles())
    finally:
        os.sched_setaffinity(0, everywhere)


@contextlib.contextmanager
def lab_under_test(in_flight: int, cores: Cores) -> Iterator[Lab]:
    """The producer (paused generator) and the consumer (processing 0 ms), each on its core."""
    paused = f"producer: {{production_rate: 0, payload_bytes: {PAYLOAD_BYTES}}}\n"
    with (
        tempfile.TemporaryDirectory() as directory,
        running_lab(Path(directory), producer_env=settings_env(Path(directory), paused)) as lab,
    ):
        lab.consumer.admin("/admin/config", {"processing_time_ms": 0, "concurrency": max(64, 2 * in_flight)})
        lab.producer.admin("/admin/config", {"sender_concurrency": in_flight})
        time.sleep(1)
        cores.place(lab.producer.process.pid, cores.sender)
        cores.place(lab.consumer.process.pid, cores.receiver)
        yield lab


def lab_rate(lab: Lab, items: int, profile: Path | None) -> Run:
    processed_before = processed(lab.consumer)
    pids = {"producer": lab.producer.process.pid, "consumer": lab.consumer.process.pid}
    profiler = Profiler(profile, pids)
    producer_before, consumer_before = cpu_seconds(pids["producer"]), cpu_seconds(pids["consumer"])
    started = time.monotonic()
    profiler.start()
    # The backlog arrives in /produce bursts (4,096 items at most each); the senders drain it meanwhile.
    produced = 0
    while produced < items:
        produced += lab.producer.post("/produce", {"count": min(4096, items - produced)}).body["produced"]
    rate = items / (drained_after(lab.consumer, processed_before, items) - started)
    producer, consumer = (
        cpu_seconds(pids["producer"]) - producer_before,
        cpu_seconds(pids["consumer"]) - consumer_before,
    )
    return Run(rate, producer / items, consumer / items, profiler.profiles())


def measure_pairs(items: int, in_flight: int, rounds: int, profile: Path | None, cores: Cores) -> list[tuple[Run, Run]]:
    """`rounds` pairs of runs, bare then lab, each pair back to back, the servers and the lab started once and warmed
    up first: this VM's speed drifts by tens of percent within seconds, so a ratio is only fair between runs a few
    seconds apart, and restarting both sides for each pair put ten more seconds between pairs. Profiles come from the
    first pair."""
    pairs = []
    with bare_server(cores) as server, lab_under_test(in_flight, cores) as lab:
        ceiling(server, WARM_UP_ITEMS, in_flight, None, cores)
        lab_rate(lab, WARM_UP_ITEMS, None)
        for index in range(rounds):
            sampled = profile if index == 0 else None
            pairs.append((ceiling(server, items, in_flight, sampled, cores), lab_rate(lab, items, sampled)))
    return pairs


def report(in_flight: int, pairs: list[tuple[Run, Run]]) -> None:
    ratios = [lab.rate / bare.rate for bare, lab in pairs]
    bare = statistics.median(pair[0].rate for pair in pairs)
    lab = statistics.median(pair[1].rate for pair in pairs)
    each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    print(
        f"{in_flight:>3} in flight: bare one hop {bare:,.0f} req/s, lab drain {lab:,.0f} items/s (medians of ", end=""
    )
    print(f"{len(pairs)}); ratio {statistics.median(ratios):.2f} (median of the pairs: {each})")

    def micros(values: Iterable[float]) -> str:
        return f"{statistics.median(values) * 1e6:.0f} µs"

    print(f"    CPU per item: bare client {micros(b.sender_cpu for b, _ in pairs)}, ", end="")
    print(f"producer {micros(lab.sender_cpu for _, lab in pairs)}; bare server ", end="")
    print(f"{micros(b.receiver_cpu for b, _ in pairs)}, consumer {micros(lab.receiver_cpu for _, lab in pairs)}")
    first_bare, first_lab = pairs[0]
    for name, found in {**first_bare.profiles, **first_lab.profiles}.items():
        shares = ", ".join(f"{where} {share:.0%}" for where, share in found.top(8))
        print(f"    {name} ({found.busy:.2f} cores busy): {shares}")
        within = ", ".join(f"{module} {share:.0%}" for module, share in found.top_within(8, SERVICE_ENTRY_POINTS))
        if within:
            print(f"      within the lab's modules, their calls included: {within}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (bare, lab) per in-flight figure")
    parser.add_argument(
        "--pin", action="store_true", help="the sending side on the first core, the receiving side on the second"
    )
    parser.add_argument(
        "--profile", action="store_true", help=f"py-spy each service for {PROFILE_SECONDS:g} s of the first pair"
    )
    args = parser.parse_args()
    print(describe())
    available = sorted(os.sched_getaffinity(0))
    if args.pin and len(available) < 2:
        parser.error("--pin needs two cores")
    cores = Cores({available[0]}, {available[1]}) if args.pin else Cores()
    pinned = f", sender on core {available[0]}, receiver on core {available[1]}" if args.pin else ""
    print(f"{args.items} items of {PAYLOAD_BYTES} B, JSON both ways, tracing off, processing 0 ms{pinned}")
    for in_flight in args.in_flight:
        with tempfile.TemporaryDirectory() as directory:
            profile = Path(directory) if args.profile else None
            report(in_flight, measure_pairs(args.items, in_flight, args.rounds, profile, cores))


if __name__ == "__main__":
    main()
