#!/usr/bin/env bash
# Start the single node in the background (tools/node/node.py up under setsid, pidfile /run/bplab-node.pid) and wait
# until it is READY (node Ready, kube-proxy healthy, CoreDNS Ready). Idempotent: a node already running is reused.
# Prints the admin kubeconfig path on stdout. The images must be in $BPLAB_CACHE/node/images (tools/node/images.sh).
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if node_running && [[ -f $STATE/ready ]]; then echo "$STATE/admin.kubeconfig"; exit 0; fi
if ! node_running; then
  "$PYTHON" "$here/node.py" down >/dev/null   # leftovers of a killed run
  mkdir -p "$STATE"; rm -f "$STATE/ready"
  setsid "$PYTHON" "$here/node.py" up > "$STATE/node.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
fi
for _ in $(seq 600); do
  [[ -f $STATE/ready ]] && { echo "$STATE/admin.kubeconfig"; exit 0; }
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "node.py up exited; last lines of $STATE/node.log:" >&2; tail -30 "$STATE/node.log" >&2; exit 1; }
  sleep 0.5
done
echo "node not ready after 300 s; see $STATE/node.log and $STATE/logs/" >&2; exit 1
