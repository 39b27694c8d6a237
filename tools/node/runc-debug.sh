#!/usr/bin/env bash
# A runc wrapper for debugging sandbox/container creation: `BPLAB_RUNC=$PWD/tools/node/runc-debug.sh tools/node/start.sh`
# makes containerd call this instead of runc. It adds --debug, sends runc's JSON log (which containerd deletes with
# the failed bundle) to $BPLAB_NODE_DIR/logs/runc-debug.json and keeps the last bundle's config.json next to it.
# This is how "can't get final child's PID from pipe: EOF" turned out to be "failed to update
# /proc/self/oom_score_adj: Permission denied" (docs/node.md).
logs="${BPLAB_NODE_DIR:-/var/lib/bplab-node}/logs"; mkdir -p "$logs"
echo "$(date +%T) runc $*" >> "$logs/runc-debug.calls"
args=(); prev=
for a in "$@"; do
  [[ $prev == --bundle ]] && cp "$a/config.json" "$logs/runc-last-config.json" 2>/dev/null
  [[ $prev == --log ]] && a="$logs/runc-debug.json"
  args+=("$a"); prev=$a
done
exec "${BPLAB_RUNC_REAL:-/usr/sbin/runc}" --debug "${args[@]}"
