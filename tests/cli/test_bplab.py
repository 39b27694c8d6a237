"""`bplab` against the real services on loopback: checks, errors in one line, and the live view in a real terminal."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from backpressure_lab.cli.exercises import EXERCISES, Exercise
from backpressure_lab.common.settings import as_dict
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.producer.settings import ProducerSettings
from tests.cli.terminal import bplab_line, terminal
from tests.ports import free_port, free_ports
from tests.services.lab import REPO, Lab, call, running_lab, wait_until
from tests.tiers import require_tool

CHECK_ALL_TIMEOUT = 600.0


def bplab_command(lab: Lab | None, *args: str, state: Path | None = None) -> tuple[list[str], dict[str, str]]:
    urls = ["--producer", lab.producer.url, "--consumer", lab.consumer.url] if lab else [
        "--producer", f"http://127.0.0.1:{free_port()}", "--consumer", f"http://127.0.0.1:{free_port()}"]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "COLUMNS": "100", "TERM": "dumb"}
    if state is not None:
        env["XDG_STATE_HOME"] = str(state)
    return [sys.executable, "-m", "backpressure_lab.cli", *urls, *args], env


def bplab(
    lab: Lab | None, *args: str, timeout: float = 300, state: Path | None = None
) -> subprocess.CompletedProcess[str]:
    command, env = bplab_command(lab, *args, state=state)
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False, env=env)


@dataclass
class BackgroundRun:
    """`bplab` running on a lab of its own while the module's other tests run: the wall-clock lessons cost the
    module's time once, not once more after it."""

    lab: Lab
    process: subprocess.Popen[str]

    def result(self, timeout: float = CHECK_ALL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        stdout, stderr = self.process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)


@contextmanager
def bplab_in_background(
    log_dir: Path, *args: str, producer_env: dict[str, str] | None = None
) -> Iterator[BackgroundRun]:
    with running_lab(log_dir, producer_env=producer_env) as lab:
        command, env = bplab_command(lab, *args)
        process = subprocess.Popen(
            command, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            yield BackgroundRun(lab, process)
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()


Background = dict[str, BackgroundRun]


# `check all`'s lessons play on this many labs at once, so that the module waits for a third of them after its other
# tests, not for all of them; each lab is two uvicorn processes at a few dozen items/s, light beside a 2-core machine.
CHECK_PARTS = 3


def every_exercise_in_parts(parts: int = CHECK_PARTS) -> list[list[str]]:
    """Every exercise once, in `parts` lists of about equal wall time (settle + observe; none for the cluster-only
    ones, which local mode skips), heaviest first."""

    def wall_time(item: Exercise) -> float:
        return 0.0 if item.needs_cluster else item.settle_seconds + item.observe_seconds

    lists: list[list[str]] = [[] for _ in range(parts)]
    seconds = [0.0] * parts
    for item in sorted(EXERCISES, key=wall_time, reverse=True):
        lightest = seconds.index(min(seconds))
        lists[lightest].append(str(item.number))
        seconds[lightest] += wall_time(item)
    return lists


@pytest.fixture(scope="module")
def background_checks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    """Started before the module's first test: every exercise's check (in CHECK_PARTS parts), what failed when checks
    left their settings behind (exercise 6 right after exercise 13's 32 senders), and a check on a lab whose consumer
    is nowhere, each on its own lab."""
    nowhere = {"BPLAB_CONSUMER_URL": f"http://127.0.0.1:{free_port()}"}
    runs = {f"part {n}": ("check", *part) for n, part in enumerate(every_exercise_in_parts())}
    runs |= {"13 6": ("check", "13", "6"), "failing": ("check", "1")}
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                bplab_in_background(
                    tmp_path_factory.mktemp("check"), *args, producer_env=nowhere if name == "failing" else None
                )
            )
            for name, args in runs.items()
        }


pytestmark = [pytest.mark.services, pytest.mark.usefixtures("background_checks")]


def assert_at_the_baseline(lab: Lab) -> None:
    producer = lab.producer.get("/admin/config")["config"]
    consumer = lab.consumer.get("/admin/config")["config"]
    assert producer == as_dict(ProducerSettings())
    assert consumer == as_dict(ConsumerSettings())
    assert lab.producer.status()["queue"]["size"] <= 2  # emptied, then the baseline's own flow (10/s, sent at once)


def test_hint_gives_the_next_hint_on_each_call(tmp_path: Path) -> None:
    first = bplab(None, "hint", "2", state=tmp_path)
    second = bplab(None, "hint", "2", state=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr
    assert first.stdout.startswith("hint 1 of 3: ")
    assert second.stdout.startswith("hint 2 of 3: ")


def test_solve_applies_the_exercise_checks_it_and_leaves_it_applied(lab: Lab) -> None:
    result = bplab(lab, "solve", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS queue depth" in result.stdout
    config = lab.producer.get("/admin/config")["config"]
    assert (config["queue_mode"], config["max_queue_size"]) == ("bounded", 100)
    assert "bplab reset" in result.stdout


def test_reset_returns_every_setting_to_the_baseline(lab: Lab) -> None:
    lab.producer.admin("/admin/config", {"queue_mode": "bounded", "max_queue_size": 7, "sender_concurrency": 9})
    lab.consumer.admin("/admin/slow-down", {"factor": 50})
    lab.producer.post("/produce", {"count": 7})
    result = bplab(lab, "reset")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "baseline" in result.stdout
    assert_at_the_baseline(lab)


def test_the_autoscale_check_alone_in_local_mode_says_it_needs_the_cluster(lab: Lab) -> None:
    result = bplab(lab, "check", "14")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "needs the cluster" in result.stderr
    assert "bplab --cluster check 14" in result.stderr


def test_unreachable_lab_is_one_line() -> None:
    result = bplab(None, "status")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the lab is not reachable" in lines[0]
    assert "make local" in lines[0]


def test_status_summarises_both_services_with_rates_and_returns(lab: Lab) -> None:
    result = bplab(lab, "status")
    assert result.returncode == 0, result.stderr
    for expected in ("queue", "mode unbounded", "rates/s", "429s", "503s", "OOM kills"):
        assert expected in result.stdout
    # Two looks a second apart: the baseline's 10 items/s shows as a rate, not as 0.0.
    produced = float(re.search(r"produced (\d+\.\d)", result.stdout).group(1))  # type: ignore[union-attr]
    assert produced > 0, result.stdout
    assert "Ctrl-C" not in result.stdout  # it does not wait for one


def test_watch_renders_in_a_real_terminal(lab: Lab) -> None:
    lab.consumer.admin("/admin/slow-down", {"factor": 5})
    with terminal(bplab_line(lab, "watch", "--interval", "0.25", "--duration", "30"), 100, 20) as pane:
        # What the view shows once it has a few seconds of history: a sparkline and a measured processed rate.
        wait_until(lambda: bool(re.search(r"processed [1-9]\d*\.\d", pane.screen())), timeout=30)
        screen = pane.screen()
    assert "backpressure-lab" in screen
    assert "mode unbounded" in screen
    assert any(block in screen for block in "▁▂▃▄▅▆▇█"), screen
    assert "produced" in screen
    assert "memory" in screen
    assert re.search(r"processed \d+\.\d", screen), screen
    assert "1, each 500.0 ms per item, 8 at once" in screen


def test_make_local_starts_and_ctrl_c_stops_it_without_an_error_line(tmp_path: Path) -> None:
    tmux = require_tool("tmux", "apt-get install tmux")
    tmux_port, producer_port, consumer_port = free_ports(3)
    socket_name = f"local-{tmux_port}"
    command = f"cd {REPO} && PRODUCER_PORT={producer_port} CONSUMER_PORT={consumer_port} make local; echo EXITED"
    tmux_at = [tmux, "-L", socket_name]
    subprocess.run([*tmux_at, "new-session", "-d", "-s", "local", "-x", "160", "-y", "40"], check=True)
    try:
        subprocess.run([*tmux_at, "send-keys", "-t", "local", command, "Enter"], check=True)
        assert wait_until(lambda: call("GET", f"http://127.0.0.1:{producer_port}/health").status == 200, 120)
        assert call("GET", f"http://127.0.0.1:{consumer_port}/health").body["status"] == "ok"
        subprocess.run([*tmux_at, "send-keys", "-t", "local", "C-c"], check=True)

        def screen() -> str:
            return subprocess.run(
                [*tmux_at, "capture-pane", "-p", "-t", "local"], capture_output=True, text=True, check=True
            ).stdout

        assert wait_until(lambda: "stopped the producer and the consumer" in screen(), 30), screen()
        lines = [line for line in screen().splitlines() if line.strip()]
    finally:
        subprocess.run([*tmux_at, "kill-server"], check=False)
    assert not [line for line in lines if "***" in line or "Segmentation" in line or "Error" in line], lines


# Last in the module: the background runs have had the module's other tests to get on with.
def test_every_check_passes_against_local_mode_and_leaves_the_baseline(background_checks: Background) -> None:
    runs = [background_checks[f"part {n}"] for n in range(CHECK_PARTS)]
    results = [run.result() for run in runs]
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    numbers = sorted(int(number) for result in results for number in result.args[result.args.index("check") + 1 :])
    assert numbers == sorted(item.number for item in EXERCISES)  # each exercise once: what `check all` runs
    stdout = "".join(result.stdout for result in results)
    cluster_only = [item.number for item in EXERCISES if item.needs_cluster]
    assert cluster_only == [14]  # scaling consumers: pods, so only against the cluster
    assert stdout.count("PASS") == len(EXERCISES) - len(cluster_only)
    assert stdout.count("SKIP") == len(cluster_only)
    assert "FAIL" not in stdout
    assert "max queue depth" in stdout
    for run in runs:
        assert_at_the_baseline(run.lab)


def test_a_check_right_after_exercise_13s_senders_passes(background_checks: Background) -> None:
    result = background_checks["13 6"].result()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 2


def test_a_failing_check_exits_non_zero(background_checks: Background) -> None:
    result = background_checks["failing"].result()
    assert result.returncode == 1
    assert "FAIL max queue depth" in result.stdout
    assert "sent 0.0 items/s (> 8)" in result.stdout
