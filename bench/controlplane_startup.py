"""Warm start-up time and memory of the test control plane (etcd + kube-apiserver [+ kube-controller-manager]).

Runs the same code the controlplane test tier uses (tests/controlplane/cluster.py) with the binaries `make tools`
built, and prints the machine, the time to a ready control plane (/readyz ok, admin kubeconfig written) and the
resident memory of each component. Target for the warm start: <= 15 s on the project's 2-core machines.

    .venv/bin/python bench/controlplane_startup.py                 # 3 runs, with kube-controller-manager
    .venv/bin/python bench/controlplane_startup.py --runs 5 --json # machine-readable
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import facts
from tests.controlplane.cluster import (
    ControlPlane,
    find_binaries,
    port_is_listening,
    read_versions,
    running_processes,
)

MIB = 1024 * 1024


def one_run(with_controller_manager: bool, settle: float) -> dict[str, Any]:
    binaries = find_binaries()
    with tempfile.TemporaryDirectory(prefix="bplab-bench-") as tmp:
        plane = ControlPlane(workdir=Path(tmp), binaries=binaries)
        t0 = time.monotonic()
        try:
            plane.start()
            result: dict[str, Any] = {"ready_s": time.monotonic() - t0, **plane.timings}
            if with_controller_manager:
                plane.start_controller_manager()
                result["with_controller_manager_ready_s"] = time.monotonic() - t0
                result["controller_manager_ready"] = plane.timings["controller_manager_ready"]
            time.sleep(settle)  # let caches fill and controllers settle before reading RSS
            result["rss_mib"] = {name: round(rss / MIB, 1) for name, rss in plane.rss_bytes().items()}
            result["rss_total_mib"] = round(sum(result["rss_mib"].values()), 1)
            ports = [plane.etcd_port, plane.apiserver_port]
        finally:
            t_stop = time.monotonic()
            plane.stop()
            stop_s = time.monotonic() - t_stop
    result["stop_s"] = stop_s
    result["left_running"] = [p.name for p in running_processes()]
    result["ports_left_bound"] = [p for p in ports if port_is_listening(p)]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-controller-manager", action="store_true")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait before measuring RSS")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    versions = read_versions()
    report: dict[str, Any] = {
        "machine": facts(),
        "versions": {k: versions[k] for k in ("KUBERNETES_VERSION", "ETCD_VERSION")},
        "runs": [one_run(not args.no_controller_manager, args.settle) for _ in range(args.runs)],
    }
    runs = report["runs"]
    summary: dict[str, Any] = {
        "ready_s_median": round(statistics.median(r["ready_s"] for r in runs), 2),
        "ready_s_max": round(max(r["ready_s"] for r in runs), 2),
        "rss_total_mib_median": round(statistics.median(r["rss_total_mib"] for r in runs), 1),
    }
    if not args.no_controller_manager:
        summary["with_controller_manager_ready_s_median"] = round(
            statistics.median(r["with_controller_manager_ready_s"] for r in runs), 2
        )
    report["summary"] = summary

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    m = report["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}, kernel {m['kernel']}")
    print(f"versions: kubernetes {versions['KUBERNETES_VERSION']}, etcd {versions['ETCD_VERSION']}")
    for i, r in enumerate(runs, 1):
        line = (
            f"run {i}: pki {r['pki']:.2f} s, etcd ready {r['etcd_ready']:.2f} s, "
            f"apiserver ready {r['apiserver_ready']:.2f} s"
        )
        if "with_controller_manager_ready_s" in r:
            line += f", + controller-manager ready {r['with_controller_manager_ready_s']:.2f} s"
        rss = ", ".join(f"{k} {v:.0f}" for k, v in r["rss_mib"].items())
        line += f"; RSS MiB: {rss} (total {r['rss_total_mib']:.0f}); stop {r['stop_s']:.2f} s"
        line += f"; left running: {r['left_running'] or 'none'}, ports still bound: {r['ports_left_bound'] or 'none'}"
        print(line)
    print("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
