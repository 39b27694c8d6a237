"""`bplab tour` in a real terminal against local mode: it shows what to type, waits until the learner's change is
live (it never applies it), checks, says what was seen, moves on; `--from` resumes, a change that never comes stops
the tour with the command that resumes it."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.cli.test_bplab import bplab
from tests.ports import free_port
from tests.services.lab import REPO, Lab, wait_until
from tests.tiers import require_tool

TOUR_TIMEOUT = 240.0


def test_the_tour_waits_for_the_learners_change_checks_it_and_moves_on(lab: Lab) -> None:
    tmux = require_tool("tmux", "apt-get install tmux")
    session = f"tour-{free_port()}"
    command = (
        f"cd {REPO} && PYTHONPATH={REPO} {sys.executable} -m backpressure_lab.cli --producer {lab.producer.url} "
        f"--consumer {lab.consumer.url} tour --from 4 --to 5; echo TOUR-EXIT $?; sleep 600"
    )
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "250", "-y", "60", command], check=True)

    def screen() -> str:
        return subprocess.run(
            [tmux, "capture-pane", "-p", "-J", "-S", "-200", "-t", session], capture_output=True, text=True, check=True
        ).stdout

    def type_what_the_tour_shows(exercise: str) -> None:
        """The learner types the commands shown under the exercise's title, in another terminal."""
        assert wait_until(lambda: exercise in screen() and "Waiting for your change" in screen(), 60), screen()
        shown = screen().split(exercise, 1)[1]
        typed = [line.strip() for line in shown.splitlines() if line.strip().startswith("curl ")]
        assert typed, shown
        for line in typed:
            subprocess.run(line, shell=True, check=True, capture_output=True, timeout=30)

    try:
        wait_until(lambda: "Waiting for your change" in screen(), 60)
        assert lab.producer.get("/admin/config")["config"]["queue_mode"] == "unbounded"  # it applied nothing itself
        type_what_the_tour_shows("Exercise 4: bounded queue")
        assert wait_until(lambda: screen().count("What you saw") >= 1, TOUR_TIMEOUT), screen()
        type_what_the_tour_shows("Exercise 5: rate limiting")
        assert wait_until(lambda: "TOUR-EXIT" in screen(), TOUR_TIMEOUT), screen()
        final = screen()
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], check=False)
    assert final.count("Your change is live: checking.") == 2, final
    assert len(re.findall(r"PASS What you saw: \S", final)) == 2, final
    assert "The tour is over. Every check passed." in final
    assert "TOUR-EXIT 0" in final


def test_a_change_that_never_comes_stops_the_tour_with_the_command_to_resume(lab: Lab) -> None:
    result = bplab(lab, "tour", "--from", "4", "--to", "4", "--wait", "2", timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Not yet: queue_mode (producer)" in result.stdout
    assert "Stopped at exercise 4: resume with `bplab tour --from 4`." in result.stdout
    assert lab.producer.get("/admin/config")["config"]["queue_mode"] == "unbounded"


def test_an_exercise_that_does_not_exist_is_one_line(lab: Lab) -> None:
    result = bplab(lab, "tour", "--from", "99")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("bplab: --from 99: there is no such exercise")
