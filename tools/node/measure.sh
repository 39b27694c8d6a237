#!/usr/bin/env bash
# Node start/stop figures: RUNS (default 3) cycles of tools/node/start.sh + tools/node/stop.sh, each printing node.py's
# marks (seconds from start), the components' RSS 5 s after ready, the stop time, and what was left afterwards
# (`node.py leftovers`: processes, iptables chains, links, cgroups, mounts, netns). The images must be packed already.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
for run in $(seq "${RUNS:-3}"); do
  start=$(date +%s%N); "$here/start.sh" >/dev/null; up=$(( ($(date +%s%N) - start) / 1000000 ))
  rm -f "$STATE/rss.json"
  wait_until 60 "rss.json (node.py writes it 5 s after ready)" test -s "$STATE/rss.json"
  start=$(date +%s%N); "$here/stop.sh" >/dev/null; down=$(( ($(date +%s%N) - start) / 1000000 ))
  left="$("$PYTHON" "$here/node.py" leftovers || true)"
  printf 'run %s: start.sh %d ms, stop.sh %d ms\n  marks %s\n  rss MiB %s\n  left: %s\n' "$run" "$up" "$down" \
    "$(tr -d ' \n' < "$STATE/timings.json")" "$(tr -d ' \n' < "$STATE/rss.json")" "$left"
  grep -E "stopping:" "$STATE/node.log" | sed 's/^/  /'
done
