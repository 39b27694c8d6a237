"""tools/lib/wait.sh: a wait under `set -euo pipefail` outlasts failing and empty answers, and states its timeout;
tools/lint-waits.sh refuses the hand-written poll loop that ended the OOM lesson on its first empty answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAIT = ROOT / "tools" / "lib" / "wait.sh"
LINT = ROOT / "tools" / "lint-waits.sh"


def run_bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n. {WAIT}\n{script}"],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_failing_then_empty_answer_means_not_yet(tmp_path: Path) -> None:
    # The first answer fails as `kubectl -o jsonpath='{.items[-1:].message}'` does on an empty list, the second is
    # empty, the third has the event: the wait returns with it instead of ending the script at the first.
    result = run_bash(
        """
        echo 0 > tries
        answer() {  # runs in $(...), a subshell: the count lives in a file
          local tries=$(($(cat tries) + 1)); echo "$tries" > tries
          if ((tries == 1)); then echo "error: array index out of bounds" >&2; return 1; fi
          if ((tries == 2)); then return 0; fi
          echo "producer OOM-killed"
        }
        event=
        has_event() { event="$(answer)"; [[ -n $event ]]; }
        WAIT_INTERVAL=0.05 wait_until 20 "the event" has_event
        echo "got: $event"
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "got: producer OOM-killed"
    assert (tmp_path / "tries").read_text().strip() == "3"


def test_a_wait_that_never_succeeds_times_out_with_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_bash("WAIT_INTERVAL=0.05 wait_until 1 'the OOMKilled event' false; echo unreachable", tmp_path)
    assert result.returncode == 1
    assert "unreachable" not in result.stdout
    assert result.stderr.strip().splitlines() == ["timed out after 1 s waiting for the OOMKilled event"]


def test_lint_refuses_a_hand_written_poll_loop(tmp_path: Path) -> None:
    script = tmp_path / "lesson.sh"
    script.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        "for _ in $(seq 30); do\n"
        "  event=\"$(kubectl get events -o jsonpath='{.items[-1:].message}')\"\n"
        "  [[ -n $event ]] && break; sleep 2\n"
        "done\n"
        "# comments may say sleep 1\n"
    )
    result = subprocess.run([str(LINT), str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    hint = "a hand-written wait; use wait_until from tools/lib/wait.sh (errors mean 'not yet', with a timeout)"
    assert result.stdout.splitlines() == [f"{script}:5: {hint}"]


def test_every_shell_script_of_the_project_waits_through_wait_until() -> None:
    result = subprocess.run([str(LINT)], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout
