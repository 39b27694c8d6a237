#!/usr/bin/env bash
# The OOM lesson against the lab on the single node: examples/03-oom.yaml (50 items/s into an unbounded queue,
# consumer 5x slower) until the kernel kills the producer at its memory limit, then proves what a learner is told to
# look at: `kubectl describe pod` shows Last State Terminated / Reason OOMKilled, the restart count went up, the operator
# recorded an OOMKilled event on the BackpressureConfig, and the restarted producer runs the current settings (read
# from its /status on the NodePort). Exits non-zero when any of it is missing. Ends with examples/01-baseline.yaml.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
use_node
fact() { printf 'e2e: %s\n' "$*"; }
k() { kubectl -n "$NAMESPACE" "$@"; }
fail() { echo "OOM lesson: $*" >&2; exit 1; }
pod="$(k get pods -l app.kubernetes.io/component=producer -o jsonpath='{.items[0].metadata.name}')"
before="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')"
echo "producer $pod, restart count before: $before"

start=$(date +%s)
k apply -f "$root/examples/03-oom.yaml"
reason=
for _ in $(seq 1 72); do
  reason="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].lastState.terminated.reason}')"
  [[ $reason == OOMKilled ]] && break
  sleep 5
done
[[ $reason == OOMKilled ]] || fail "no OOM kill within 6 minutes (last terminated reason: '${reason:-none}')"
fact "OOMKilled after $(( $(date +%s) - start )) s"

describe="$(k describe pod "$pod" | sed -n '/^Containers:/,/^Conditions:/p')"
grep -E "State|Reason|Exit Code|Restart Count|Started|Finished|Limits|memory" <<<"$describe" || true
grep -Eq "^ +Last State: +Terminated" <<<"$describe" || fail "kubectl describe pod $pod shows no 'Last State: Terminated'"
grep -Eq "^ +Reason: +OOMKilled" <<<"$describe" || fail "kubectl describe pod $pod shows no 'Reason: OOMKilled'"
fact "kubectl describe pod: Last State Terminated, Reason OOMKilled, $(grep -Eo 'Exit Code: +[0-9]+' <<<"$describe" | head -1 | tr -s ' ')"

after="$before"
for _ in $(seq 90); do  # the count goes up when the kubelet starts the container again (after its back-off)
  after="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')"
  (( after > before )) && break; sleep 1
done
(( after > before )) || fail "restart count stayed at $before"
fact "restart count $before -> $after"

event=
for _ in $(seq 30); do
  event="$(k get events --field-selector reason=OOMKilled,involvedObject.kind=BackpressureConfig -o jsonpath='{.items[-1:].message}')"
  [[ -n $event ]] && break; sleep 2
done
k get events --field-selector involvedObject.kind=BackpressureConfig --sort-by=.lastTimestamp | tail -5
[[ -n $event ]] || fail "no OOMKilled event on the BackpressureConfig"
fact "operator event OOMKilled: $event"

k wait --for=condition=Ready "pod/$pod" --timeout=120s >/dev/null
settings="$(curl -sf -m 5 "http://$NODE_IP:30800/status" | "$PYTHON" -c 'import json, sys; c = json.load(sys.stdin)["config"]; print(c["queue_mode"], c["production_rate"])')"
[[ $settings == "unbounded 50.0" ]] || fail "the restarted producer runs '$settings', not examples/03-oom.yaml's 'unbounded 50.0'"
fact "restarted producer settings: queue_mode=${settings% *} production_rate=${settings#* }"

k apply -f "$root/examples/01-baseline.yaml"
