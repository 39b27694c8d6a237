"""Exercise 1's promise held for ten minutes: on the defaults (10 items/s, 100 ms per item, two sends in flight) the
queue depth stays under 20 and does not drift. Real processes on loopback; one sample a second.
Also measures the original's serial sender (`--sender-concurrency 1`), whose queue grows about 0.35 items/s.
Run: .venv/bin/python bench/baseline.py [--minutes 10] [--sender-concurrency 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from tests.services.lab import running_lab


def slope(points: list[tuple[float, float]]) -> float:
    mean_t = sum(t for t, _ in points) / len(points)
    mean_d = sum(d for _, d in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (d - mean_d) for t, d in points) / spread if spread else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sender-concurrency", type=int, default=None, help="default: the setting's default")
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as logs, running_lab(Path(logs)) as lab:
        if args.sender_concurrency is not None:
            lab.producer.admin("/admin/config", {"sender_concurrency": args.sender_concurrency})
        config = lab.producer.get("/admin/config")["config"]
        print(
            f"settings: production_rate {config['production_rate']}/s, sender_concurrency "
            f"{config['sender_concurrency']}, consumer {lab.consumer.get('/health')['processing_time_ms']} ms per item"
        )
        started = time.monotonic()
        first = lab.producer.status()["stats"]
        points: list[tuple[float, float]] = []
        while (now := time.monotonic() - started) < args.minutes * 60:
            points.append((now, float(lab.producer.status()["queue"]["size"])))
            time.sleep(max(0.0, len(points) - (time.monotonic() - started)))
        last = lab.producer.status()["stats"]
        elapsed = time.monotonic() - started
    depths = [d for _, d in points]
    produced, sent = ((last[name] - first[name]) / elapsed for name in ("produced", "sent"))
    print(
        f"{args.minutes:g} min, {len(points)} samples: max depth {max(depths):.0f}, "
        f"mean {sum(depths) / len(depths):.1f}, final {depths[-1]:.0f}; depth trend {slope(points):+.4f} items/s; "
        f"produced {produced:.2f}/s, sent {sent:.2f}/s"
    )


if __name__ == "__main__":
    main()
