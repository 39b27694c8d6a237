"""/health while the largest /produce a request may send is admitted: the burst is admitted in slices that yield to
the event loop, so liveness and the senders keep answering (before: 50,000 items held the loop 11 s).
Real processes on loopback. Run: .venv/bin/python bench/produce_burst.py [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backpressure_lab.producer.routes import MAX_PRODUCE_BYTES
from bench.machine import describe
from tests.services.lab import call, running_lab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as logs, running_lab(Path(logs)) as lab:
        lab.producer.admin("/admin/config", {"production_rate": 0})
        lab.consumer.admin("/admin/slow-down", {"factor": 1000})
        payload = lab.producer.get("/admin/config")["config"]["payload_bytes"]
        count = MAX_PRODUCE_BYTES // payload
        for run in range(1, args.runs + 1):
            lab.producer.admin("/admin/clear-queue", {})
            health: list[float] = []
            done = threading.Event()

            def probe(samples: list[float] = health, finished: threading.Event = done) -> None:
                while not finished.is_set():
                    started = time.monotonic()
                    call("GET", lab.producer.url + "/health")
                    samples.append(time.monotonic() - started)
                    time.sleep(0.02)

            prober = threading.Thread(target=probe)
            prober.start()
            time.sleep(0.1)
            started = time.monotonic()
            reply = lab.producer.post("/produce", {"count": count})
            burst = time.monotonic() - started
            done.set()
            prober.join()
            print(
                f"run {run}: /produce {count} x {payload} B -> {reply.status}, produced {reply.body['produced']} in "
                f"{burst:.2f} s; /health during it: {len(health)} answers, slowest {max(health) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
