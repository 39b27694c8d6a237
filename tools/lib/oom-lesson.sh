#!/usr/bin/env bash
# The OOM lesson, as a learner plays it on any cluster (the single node's and kind's `make e2e` both run it):
# examples/03-oom.yaml (50 items/s into an unbounded queue, consumer 5x slower) until the kernel kills the producer at
# its memory limit, then proves what a learner is told to look at: `kubectl describe pod` shows Last State Terminated /
# Reason OOMKilled, the restart count went up, the operator counted the kill in the BackpressureConfig's status
# (oomKills) and posted an OOMKilled event on it, and the restarted producer runs the current settings (its /status).
# Every wait is on what the cluster or the operator publishes, with the timeout it states; an empty or failing answer
# on the way means "not yet" (tools/lib/wait.sh). Exits non-zero, naming what is missing, when any of it is.
# Ends with examples/01-baseline.yaml.
#
# Usage: tools/lib/oom-lesson.sh NAMESPACE PRODUCER_URL   (kubectl from $KUBECTL or PATH, with its current context)
# Sourced (tests do), it defines the probes and runs nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=wait.sh
. "$root/tools/lib/wait.sh"
namespace="${1:-}"
producer_url="${2:-}"
python="${PYTHON:-python3}"
fact() { printf 'e2e: %s\n' "$*"; }
k() { "${KUBECTL:-kubectl}" -n "$namespace" "$@"; }
fail() { echo "OOM lesson: $*" >&2; exit 1; }

# Each probe sets the variable it is named for and succeeds when the awaited state is there.
pod=
producer_pod() {
  pod="$(k get pods -l app.kubernetes.io/component=producer -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | head -1)"
  [[ -n $pod ]]
}
restarts=
restart_count() { restarts="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')"; [[ $restarts =~ ^[0-9]+$ ]]; }
oom_kills=
oom_kills_counted() { oom_kills="$(k get bpc -o jsonpath='{range .items[*]}{.status.oomKills}{"\n"}{end}' | head -1)"; [[ $oom_kills =~ ^[0-9]+$ ]]; }
reason=
oom_killed() { reason="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].lastState.terminated.reason}')"; [[ $reason == OOMKilled ]]; }
restarted() { restart_count && ((restarts > restarts_before)); }
kill_counted() { oom_kills_counted && ((oom_kills > oom_kills_before)); }
event=
oom_event() {
  event="$(k get events --field-selector reason=OOMKilled,involvedObject.kind=BackpressureConfig \
    -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | tail -1)"
  [[ -n $event ]]
}
settings=
current_settings() {
  # Read as a number: /status shows a whole rate as 50, as the original lab did (not 50.0).
  settings="$(curl -sf -m 5 "$producer_url/status" | "$python" -c 'import json, sys; c = json.load(sys.stdin)["config"]; print(c["queue_mode"], "%g" % float(c["production_rate"]))')"
  [[ $settings == "unbounded 50" ]]
}

main() {
  [[ -n $namespace && -n $producer_url ]] || { echo "usage: oom-lesson.sh NAMESPACE PRODUCER_URL" >&2; exit 2; }
  wait_until 120 "a producer pod in $namespace" producer_pod || fail "no producer pod"
  wait_until 60 "the restart count of $pod" restart_count || fail "no restart count for $pod"
  restarts_before=$restarts
  oom_kills_before=0
  if oom_kills_counted; then oom_kills_before=$oom_kills; fi
  echo "producer $pod, restart count before: $restarts_before, oomKills before: $oom_kills_before"

  start=$SECONDS
  k apply -f "$root/examples/03-oom.yaml"
  WAIT_INTERVAL=5 wait_until 360 "the producer's OOM kill" oom_killed \
    || fail "no OOM kill within 6 minutes (last terminated reason: '${reason:-none}')"
  fact "OOMKilled after $((SECONDS - start)) s"

  describe="$(k describe pod "$pod" | sed -n '/^Containers:/,/^Conditions:/p')"
  grep -E "State|Reason|Exit Code|Restart Count|Started|Finished|Limits|memory" <<<"$describe" || true
  grep -Eq "^ +Last State: +Terminated" <<<"$describe" || fail "kubectl describe pod $pod shows no 'Last State: Terminated'"
  grep -Eq "^ +Reason: +OOMKilled" <<<"$describe" || fail "kubectl describe pod $pod shows no 'Reason: OOMKilled'"
  fact "kubectl describe pod: Last State Terminated, Reason OOMKilled, $(grep -Eo 'Exit Code: +[0-9]+' <<<"$describe" | head -1 | tr -s ' ')"

  # The kubelet starts the container again after its back-off (10 s after a first crash).
  wait_until 120 "the restart count of $pod to rise above $restarts_before" restarted \
    || fail "restart count stayed at $restarts_before"
  fact "restart count $restarts_before -> $restarts"

  # The operator's drift check (every 5 s) counts the kill into status.oomKills, then posts the event.
  wait_until 90 "the operator to count the kill (status.oomKills above $oom_kills_before)" kill_counted \
    || fail "status.oomKills stayed at $oom_kills_before"
  fact "operator status oomKills $oom_kills_before -> $oom_kills"
  wait_until 60 "the operator's OOMKilled event on the BackpressureConfig" oom_event || true
  k get events --field-selector involvedObject.kind=BackpressureConfig --sort-by=.lastTimestamp | tail -5
  [[ -n $event ]] || fail "no OOMKilled event on the BackpressureConfig"
  fact "operator event OOMKilled: $event"

  k wait --for=condition=Ready "pod/$pod" --timeout=120s >/dev/null
  wait_until 60 "the restarted producer's /status to show examples/03-oom.yaml's settings" current_settings \
    || fail "the restarted producer runs '$settings', not examples/03-oom.yaml's 'unbounded 50'"
  fact "restarted producer settings: queue_mode=${settings% *} production_rate=${settings#* }"

  k apply -f "$root/examples/01-baseline.yaml"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main; fi
