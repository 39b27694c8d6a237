#!/usr/bin/env bash
# Stop the node started by tools/node/start.sh (by the PID in /run/bplab-node.pid, checked to be `node.py up`): it
# deletes every pod, stops its components in order and cleans up; then `node.py down` removes whatever is left
# (also after a crash). Idempotent.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if node_running; then
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid"
  gone() { ! kill -0 "$pid" 2>/dev/null; }
  WAIT_INTERVAL=0.5 wait_until 90 "node.py up (pid $pid) to stop; sending SIGKILL" gone || kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE"
"$PYTHON" "$here/node.py" down
