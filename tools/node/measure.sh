#!/usr/bin/env bash
# Node start/stop figures: RUNS (default 3) cycles of tools/node/up.sh + tools/node/down.sh, each printing node.py's
# marks (seconds from start), the components' RSS 5 s after ready, the stop time, and what was left afterwards.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; state="${BPLAB_NODE_DIR:-/var/lib/bplab-node}"
for run in $(seq "${RUNS:-3}"); do
  s=$(date +%s.%N); "$here/up.sh" >/dev/null; up=$(echo "$(date +%s.%N) - $s" | bc)
  sleep 6   # rss.json is written 5 s after ready
  s=$(date +%s.%N); "$here/down.sh" >/dev/null; down=$(echo "$(date +%s.%N) - $s" | bc)
  left="procs=$(grep -lsE '[b]plab-containerd|[b]plab-node' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)"
  left+=" iptables=$(iptables-save | grep -cE 'KUBE|CNI|BPLAB' || true) links=$(ip -o link | grep -cE 'bplab|master bplab' || true)"
  left+=" cgroups=$(ls -d /sys/fs/cgroup/*/bplab 2>/dev/null | wc -l) mounts=$(grep -c bplab /proc/mounts || true) netns=$(ls /run/netns 2>/dev/null | wc -l)"
  printf 'run %s: up.sh %.1f s, down.sh %.1f s\n  marks %s\n  rss MiB %s\n  left: %s\n' "$run" "$up" "$down" \
    "$(tr -d ' \n' < "$state/timings.json")" "$(tr -d ' \n' < "$state/rss.json")" "$left"
  grep -E "stopping:" "$state/node.log" | sed 's/^/  /'
done
