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
# Ready, or node.py gone: either ends the wait; which one is decided below.
ready_or_gone() { [[ -f $STATE/ready ]] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
WAIT_INTERVAL=0.5 wait_until 300 "the node to be ready (see $STATE/node.log and $STATE/logs/)" ready_or_gone || exit 1
[[ -f $STATE/ready ]] || { echo "node.py up exited; last lines of $STATE/node.log:" >&2; tail -30 "$STATE/node.log" >&2; exit 1; }
echo "$STATE/admin.kubeconfig"
