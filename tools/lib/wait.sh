# The one way a script here waits for something: wait_until. `make lint` (tools/lint-waits.sh) refuses a `sleep`
# anywhere else, because a hand-written poll loop under `set -euo pipefail` ends on its first failing or empty answer
# (a kubectl jsonpath on an empty list is an error) instead of trying again.
# shellcheck shell=bash

# wait_until SECONDS WHAT COMMAND [ARG...]
# Runs COMMAND every WAIT_INTERVAL seconds (default 1) until it succeeds, then returns 0. COMMAND runs as a condition,
# where `set -e` does not apply: a failing command or an empty answer inside it means "not yet", never the end of the
# script. After SECONDS it prints "timed out after SECONDS s waiting for WHAT" on stderr and returns 1.
wait_until() {
  local timeout="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  while true; do
    if "$@"; then return 0; fi
    if ((SECONDS >= deadline)); then
      printf 'timed out after %s s waiting for %s\n' "$timeout" "$what" >&2
      return 1
    fi
    sleep "${WAIT_INTERVAL:-1}"
  done
}
