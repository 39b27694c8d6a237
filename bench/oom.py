"""Measure the lab's image and the lesson under a real 256 MiB limit; print the figures as Markdown.

    .venv/bin/python bench/oom.py                 # builds (cold, cached), size, start-up, OOM at 10 and 50/s
    .venv/bin/python bench/oom.py --rates 50      # skip the ~7 minute run at 10/s
    .venv/bin/python bench/oom.py --no-build      # reuse the image already built

Needs what the containers tier needs (root, Debian's docker.io and debootstrap, or a running Docker). Starts dockerd
with tools/docker/start-dockerd.sh if none answers, and stops it again at the end if it started it. For each rate the
consumer is slowed 5x, the producer switched to an unbounded queue, and the time from that switch to the kernel's kill
(the container's `die` event, exit code 137) is compared with the producer's own `process.seconds_to_limit` estimate,
sampled early: the first estimate at least --estimate-after seconds into the load, plus the time it was taken at.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import facts
from tests.containers import lab

IMAGE_TARGET_BYTES = 200 * 1000 * 1000
ESTIMATE_TOLERANCE = 0.20


def start_to_ready(docker: lab.Docker, image: str, command: str, port: int, runs: int = 3) -> list[float]:
    """Seconds from `docker run -d` to the service's first 2xx on /health (the daemon, not the test, starts it)."""
    times = []
    for index in range(runs):
        name = f"bplab-bench-ready-{os.getpid()}-{index}"
        try:
            begin = time.monotonic()
            docker.cli(
                "run", "-d", "--name", name, "--label", "bplab.test=1", "--read-only", "--tmpfs", "/tmp",
                "-p", f"127.0.0.1::{port}", "-e", f"BPLAB_PORT={port}", image, command,
            )  # fmt: skip
            url = f"http://127.0.0.1:{docker.host_port(name, port)}/health"
            lab.wait_http(url, 60)
            times.append(time.monotonic() - begin)
        finally:
            docker.remove(name)
    return times


def oom_run(docker: lab.Docker, image: str, rate: float, estimate_after: float, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bplab-bench-") as tmp:
        os.chmod(tmp, 0o755)
        settings = lab.write_settings(Path(tmp) / "settings.json", producer={}, consumer={})
        with lab.lab(docker, image, settings) as the_lab:
            result = lab.drive_to_oom(the_lab, rate, timeout=timeout)
    early = lab.early_estimate(result.estimates, estimate_after)
    row: dict[str, Any] = {
        "rate": rate,
        "seconds_to_oom": round(result.seconds, 1),
        "exit_code": result.exit_code,
        "oom_killed": result.oom_killed,
        "restart_count": result.restart_count,
    }
    if early is not None:
        at, estimate = early
        predicted = at + estimate
        row |= {
            "estimate_at": round(at, 1),
            "estimate": round(estimate, 1),
            "predicted_total": round(predicted, 1),
            "error": round(predicted / result.seconds - 1, 3),
        }
    if result.rss_samples:
        row["last_rss_mib"] = round(result.rss_samples[-1][1] / lab.MIB, 1)
    return row


def markdown(report: dict[str, Any]) -> str:
    lines = ["| machine | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in report["machine"].items()]
    if "build" in report:
        build = report["build"]
        lines += ["", "| image | figure | target |", "| --- | --- | --- |"]
        if "cold_seconds" in build:
            lines.append(f"| build, cold (`--no-cache`, base image local) | {build['cold_seconds']:.1f} s | |")
            lines.append(f"| build, cached (nothing changed) | {build['cached_seconds']:.1f} s | |")
        lines.append(f"| image size | {build['size_bytes'] / 1e6:.1f} MB | <= 200 MB |")
    for role, times in report.get("ready", {}).items():
        lines.append(
            f"| {role}: `docker run` to first /health 2xx | median {statistics.median(times):.2f} s "
            f"(of {', '.join(f'{t:.2f}' for t in times)}) | |"
        )
    if report.get("oom"):
        lines += [
            "",
            "| rate | consumer | time to OOM kill | exit | OOMKilled | early estimate (taken at) | predicted | error |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in report["oom"]:
            estimate = f"{row['estimate']:.0f} s (at {row['estimate_at']:.0f} s)" if "estimate" in row else "n/a"
            predicted = f"{row['predicted_total']:.0f} s" if "predicted_total" in row else "n/a"
            error = f"{row['error'] * 100:+.0f}%" if "error" in row else "n/a"
            lines.append(
                f"| {row['rate']:.0f}/s | slowed 5x | {row['seconds_to_oom']:.1f} s | {row['exit_code']} | "
                f"{row['oom_killed']} | {estimate} | {predicted} | {error} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="10,50", help="items/s to drive to OOM, comma-separated (default 10,50)")
    parser.add_argument("--no-build", action="store_true", help="measure the existing image; no cold/cached build")
    parser.add_argument("--estimate-after", type=float, default=15.0, help="seconds into the load for the estimate")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on one OOM run after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"machine": facts()}
    print("\n".join(f"{key}: {value}" for key, value in report["machine"].items()), flush=True)
    cli = lab.pick_cli()
    if cli is None:
        print("no docker CLI that can do a BuildKit build: apt-get install -y docker.io", file=sys.stderr)
        return 2
    host = os.environ.get("DOCKER_HOST", "")
    started = False
    if not (host and lab.Docker(cli, host).ping()):
        host, started = lab.start_daemon()
    docker = lab.Docker(cli, host)
    failed = False
    try:
        lab.ensure_base_image(docker)
        if args.no_build:
            report["build"] = {"size_bytes": docker.image_size(lab.IMAGE)}
        else:
            cold = lab.build_image(docker, no_cache=True)
            print(f"build cold: {cold.seconds:.1f} s", flush=True)
            cached = lab.build_image(docker)
            print(f"build cached: {cached.seconds:.1f} s", flush=True)
            report["build"] = {
                "cold_seconds": cold.seconds,
                "cached_seconds": cached.seconds,
                "size_bytes": cached.size_bytes,
            }
        size = report["build"]["size_bytes"]
        print(f"image size: {size / 1e6:.1f} MB (target <= 200 MB)", flush=True)
        failed |= size > IMAGE_TARGET_BYTES
        report["ready"] = {
            "producer": start_to_ready(docker, lab.IMAGE, "bplab-producer", 8000),
            "consumer": start_to_ready(docker, lab.IMAGE, "bplab-consumer", 8001),
        }
        print(f"start-to-ready: {json.dumps(report['ready'])}", flush=True)
        report["oom"] = []
        for rate in (float(r) for r in args.rates.split(",") if r.strip()):
            print(f"driving to OOM at {rate:.0f}/s ...", flush=True)
            row = oom_run(docker, lab.IMAGE, rate, args.estimate_after, args.timeout)
            print(json.dumps(row), flush=True)
            report["oom"].append(row)
            failed |= row["exit_code"] != 137 or not row["oom_killed"]
            failed |= abs(row.get("error", 1.0)) > ESTIMATE_TOLERANCE
    finally:
        lab.cleanup_leftovers(docker)
        if started:
            lab.stop_daemon()
    print()
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
