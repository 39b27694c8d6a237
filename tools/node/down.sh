#!/usr/bin/env bash
# Stop the node started by tools/node/up.sh (by the PID in /run/bplab-node.pid, checked to be `node.py up`), then
# remove whatever is left (tools/node/node.py down). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; pidfile=/run/bplab-node.pid
if [[ -s $pidfile ]]; then
  pid="$(cat "$pidfile")"
  if { tr "\0" " " < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q "node.py up"; then
    kill -TERM "$pid"
    for _ in $(seq 180); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
fi
py="${PYTHON:-python3}"; [[ -z ${PYTHON:-} && -x $here/../../.venv/bin/python ]] && py="$here/../../.venv/bin/python"
"$py" "$here/node.py" down
