"""`bplab tour` in a real terminal against local mode: it shows what to type, waits until the learner's change is
live (it never applies it), checks, says what was seen, moves on; `--from` resumes, a change that never comes stops
the tour with the command that resumes it."""

from __future__ import annotations

import re
import subprocess

from tests.cli.terminal import bplab_line, terminal
from tests.cli.test_bplab import bplab
from tests.services.lab import Lab, wait_until

TOUR_TIMEOUT = 240.0


def test_the_tour_waits_for_the_learners_change_checks_it_and_moves_on(lab: Lab) -> None:
    line = bplab_line(lab, "tour", "--from", "4", "--to", "5") + "; echo TOUR-EXIT $?; sleep 600"
    with terminal(line, 250, 60) as pane:

        def type_what_the_tour_shows(exercise: str) -> None:
            """The learner types the commands shown under the exercise's title, in another terminal."""

            def shown() -> str:
                # Nothing until the tour has shown this exercise: the screen still holds the previous one's commands
                # and "Waiting" line while the tour resets the lab (typed then, the reset would undo them).
                screen = pane.screen()
                return screen.split(exercise, 1)[1] if exercise in screen else ""

            assert wait_until(lambda: "Waiting for your change" in shown(), 60), pane.screen()
            typed = [line.strip() for line in shown().splitlines() if line.strip().startswith("curl ")]
            assert typed, shown()
            for command in typed:
                subprocess.run(command, shell=True, check=True, capture_output=True, timeout=30)

        assert wait_until(lambda: "Waiting for your change" in pane.screen(), 60), pane.screen()
        assert lab.producer.get("/admin/config")["config"]["queue_mode"] == "unbounded"  # it applied nothing itself
        type_what_the_tour_shows("Exercise 4: bounded queue")
        assert wait_until(lambda: "What you saw" in pane.screen(), TOUR_TIMEOUT), pane.screen()
        type_what_the_tour_shows("Exercise 5: rate limiting")
        assert wait_until(lambda: "TOUR-EXIT" in pane.screen(), TOUR_TIMEOUT), pane.screen()
        final = pane.screen()
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
