from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.common.memory import GrowthEstimator, current_rss_bytes, memory_limit_bytes
from backpressure_lab.producer.items import measure, new_item


def _cgroup_tree(tmp_path: Path, proc_line: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(proc_line)
    return root, proc


def test_v1_limit_from_the_process_cgroup(tmp_path: Path) -> None:
    root, proc = _cgroup_tree(
        tmp_path,
        "12:cpu,cpuacct:/x\n9:memory:/docker/abc\n0::/\n",
        {"memory/docker/abc/memory.limit_in_bytes": "268435456\n"},
    )
    assert memory_limit_bytes(root, proc) == 268435456


def test_v1_limit_inside_a_container_namespace(tmp_path: Path) -> None:
    root, proc = _cgroup_tree(tmp_path, "9:memory:/kubepods/pod1/c1\n", {"memory/memory.limit_in_bytes": "134217728"})
    assert memory_limit_bytes(root, proc) == 134217728


def test_v1_unlimited_is_none(tmp_path: Path) -> None:
    root, proc = _cgroup_tree(tmp_path, "9:memory:/\n", {"memory/memory.limit_in_bytes": "9223372036854771712"})
    assert memory_limit_bytes(root, proc) is None


def test_v2_limit_and_max(tmp_path: Path) -> None:
    root, proc = _cgroup_tree(tmp_path, "0::/pod/c\n", {"pod/c/memory.max": "268435456\n"})
    assert memory_limit_bytes(root, proc) == 268435456
    root, proc = _cgroup_tree(tmp_path / "b", "0::/\n", {"memory.max": "max\n"})
    assert memory_limit_bytes(root, proc) is None


def test_current_rss_is_positive() -> None:
    assert current_rss_bytes() > 1024 * 1024


def test_growth_estimate_and_time_to_limit() -> None:
    estimator = GrowthEstimator(window_seconds=10)
    for second in range(11):
        estimator.add(float(second), 100_000_000 + second * 1_000_000)
    assert estimator.bytes_per_second() == pytest.approx(1_000_000)
    assert estimator.seconds_to_limit(110_000_000, 200_000_000) == pytest.approx(90)
    assert estimator.seconds_to_limit(110_000_000, None) is None


def test_flat_memory_never_reaches_the_limit() -> None:
    estimator = GrowthEstimator()
    for second in range(5):
        estimator.add(float(second), 50_000_000)
    assert estimator.seconds_to_limit(50_000_000, 100_000_000) is None


def test_window_forgets_old_samples() -> None:
    estimator = GrowthEstimator(window_seconds=5)
    for second in range(20):
        estimator.add(float(second), 0 if second < 10 else (second - 10) * 1000)
    assert estimator.bytes_per_second() == pytest.approx(1000)


@pytest.mark.parametrize("payload_bytes", [0, 1024, 65536])
def test_item_accounting_matches_tracemalloc_within_ten_percent(payload_bytes: int) -> None:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        items = [new_item(payload_bytes) for _ in range(2000)]
        measured = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    accounted = sum(item.memory_bytes for item in items)
    assert accounted == pytest.approx(measured, rel=0.10)


@given(st.integers(min_value=0, max_value=1024 * 1024), st.sampled_from(["high", "low"]))
def test_an_items_accounted_memory_is_its_own_measurement(payload_bytes: int, priority: str) -> None:
    """The producer measures one item per payload length and reuses the figure: it must be every item's own."""
    first, later = new_item(payload_bytes, priority), new_item(payload_bytes, "low")
    assert first.memory_bytes == measure(first) == later.memory_bytes == measure(later)
