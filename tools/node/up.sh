#!/usr/bin/env bash
# Bring the single node up in the background (tools/node/node.py up under setsid, pidfile /run/bplab-node.pid) and
# wait until it is READY. Idempotent: a node already running is reused. Prints the admin kubeconfig path on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${BPLAB_NODE_DIR:-/var/lib/bplab-node}"; pidfile=/run/bplab-node.pid
root="$(cd "$here/../.." && pwd)"
py="${PYTHON:-python3}"; [[ -z ${PYTHON:-} && -x $root/.venv/bin/python ]] && py="$root/.venv/bin/python"
alive() { [[ -s $pidfile ]] && { tr "\0" " " < "/proc/$(cat "$pidfile")/cmdline"; } 2>/dev/null | grep -q "node.py up"; }
if alive && [[ -f $state/ready ]]; then echo "$state/admin.kubeconfig"; exit 0; fi
if ! alive; then
  "$py" "$here/node.py" down >/dev/null   # leftovers of a killed run
  mkdir -p "$state"; rm -f "$state/ready"
  setsid "$py" "$here/node.py" up > "$state/node.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
fi
for _ in $(seq 600); do
  [[ -f $state/ready ]] && { echo "$state/admin.kubeconfig"; exit 0; }
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "node.py up exited; last lines of $state/node.log:" >&2; tail -30 "$state/node.log" >&2; exit 1; }
  sleep 0.5
done
echo "node not ready after 300 s; see $state/node.log and $state/logs/" >&2; exit 1
