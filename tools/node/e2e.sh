#!/usr/bin/env bash
# `make e2e CLUSTER=node`: the lab end to end on this machine's single node, with the same checks as on kind:
#   make up CLUSTER=node (node + chart) -> every pod Running -> helm test -> `bplab --cluster check all` (every
#   exercise's promise, applied with kubectl) -> the OOM lesson (tools/lib/oom-lesson.sh: OOMKilled in kubectl
#   describe, the restart count up, the operator's OOMKilled event, the restarted pod on the current settings) ->
#   the chart's BackpressureProducerOOMKilled alert firing in the node's Prometheus (kube-state-metrics' series).
# Lines starting with "e2e: " are the facts it established (tests/node reads them). On failure it dumps pods, events,
# describes and logs before anything goes away. The node is stopped at the end (also on failure) unless KEEP=1.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
started=$(date +%s)
fact() { printf 'e2e: %s\n' "$*"; }

dump() {
  if ! node_running; then
    step "failure while the node was not running (see above; the node's own log: $STATE/node.log)"; return
  fi
  step "failure: dumping pods, events, describes and logs of namespace $NAMESPACE"
  kubectl -n "$NAMESPACE" get pods,bpc -o wide || true
  kubectl -n "$NAMESPACE" get events --sort-by=.lastTimestamp || true
  kubectl -n "$NAMESPACE" describe pods,bpc || true
  for pod in $(kubectl -n "$NAMESPACE" get pods -o name 2>/dev/null); do
    echo "--- logs $pod"; kubectl -n "$NAMESPACE" logs "$pod" --all-containers --previous 2>/dev/null || true
    kubectl -n "$NAMESPACE" logs "$pod" --all-containers --tail=200 || true
  done
  echo "--- node: $STATE/node.log (last 20 lines); component logs in $STATE/logs/"; tail -20 "$STATE/node.log" || true
}
finish() {
  local code=$?
  (( code == 0 )) || dump
  if [[ ${KEEP:-0} == 1 ]]; then echo "KEEP=1: the node keeps running (make down CLUSTER=node stops it)"; else "$here/down.sh"; fi
  exit "$code"
}
trap finish EXIT
use_node

step "make up CLUSTER=node"
"$here/up.sh" | while IFS= read -r line; do
  echo "$line"; if [[ $line == "node ready in "* ]]; then fact "$line"; fi
done
node="$(kubectl get node -o jsonpath='{.items[0].metadata.name} {.items[0].status.nodeInfo.kubeletVersion} {.items[0].status.nodeInfo.containerRuntimeVersion} {.items[0].status.conditions[?(@.type=="Ready")].status}')"
fact "node status: $node"

step "every pod Running"
kubectl -n "$NAMESPACE" wait --for=condition=Ready pod -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component!=test" --timeout=180s >/dev/null
kubectl -n "$NAMESPACE" get pods -o wide
phases="$(kubectl -n "$NAMESPACE" get pods -l 'app.kubernetes.io/component!=test' -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}')"
running="$(grep -c '^Running$' <<<"$phases" || true)"; total="$(grep -c . <<<"$phases" || true)"
(( total > 0 && running == total )) || { echo "not every pod is Running: $running of $total" >&2; false; }
fact "pods Running $running/$total"

step "helm test"
timeout 300 helm test "$RELEASE" -n "$NAMESPACE" --timeout 4m
fact "helm test passed: $(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/component=test -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}')"

# bplab reaches the services on their NodePorts at the node's address (what a learner's curl would use here).
bplab_on_node() {
  timeout 1800 "$root/.venv/bin/bplab" --cluster --context "$CONTEXT" --namespace "$NAMESPACE" \
    --producer "http://$NODE_IP:30800" --consumer "http://$NODE_IP:30801" "$@"
}
# The producer's live settings an exercise changes: queue mode, capacity, and the status a full queue answers with.
producer_settings() {
  curl -sf --max-time 10 "http://$NODE_IP:30800/status" | "$root/.venv/bin/python" -c \
    'import json, sys; c = json.load(sys.stdin)["config"]; print(c["queue_mode"], c["max_queue_size"], c["produce_overload_status"])'
}

# CHECKS (default all): which exercises to check. tests/node passes the ones whose promise needs a cluster or goes
# through the operator in a way the services tier cannot show; every other check runs once, in the services tier.
read -r -a checks_wanted <<<"${CHECKS:-all}"
step "the exercise checks against the node (bplab --cluster check ${checks_wanted[*]})"
checks="$(mktemp)"; code=0
bplab_on_node check "${checks_wanted[@]}" | tee "$checks" || code=$?
fact "exercise checks: $(grep -c '^PASS' "$checks" || true) PASS, $(grep -c '^FAIL' "$checks" || true) FAIL"
rm -f "$checks"
(( code == 0 )) || { echo "bplab --cluster check ${checks_wanted[*]} exited $code" >&2; exit "$code"; }

# A learner who is stuck: two hints, then `bplab solve` (kubectl apply of exactly the exercise, its check, and the
# exercise left applied), then `bplab reset` (the baseline again). SOLVE (default 15) names the exercise.
solve="${SOLVE:-15}"
step "the learner's workflow against the node (bplab --cluster hint, solve $solve, reset)"
hints="$(mktemp -d)"
for _ in 1 2; do fact "hint $solve: $(XDG_STATE_HOME="$hints" bplab_on_node hint "$solve" | head -1)"; done
rm -rf "$hints"
solved="$(mktemp)"; code=0
bplab_on_node solve "$solve" | tee "$solved" || code=$?
fact "solve $solve: $(grep -c '^PASS' "$solved" || true) PASS, $(grep -c '^FAIL' "$solved" || true) FAIL; producer then: $(producer_settings)"
rm -f "$solved"
(( code == 0 )) || { echo "bplab --cluster solve $solve exited $code" >&2; exit "$code"; }
bplab_on_node reset
fact "reset: producer then: $(producer_settings)"

step "the OOM lesson"
"$root/tools/lib/oom-lesson.sh" "$NAMESPACE" "http://$NODE_IP:30800"

# The same kill as the monitoring stack sees it: kube-state-metrics' series, and the chart's alert firing in Prometheus.
step "the OOM kill in Prometheus (http://$NODE_IP:30909): kube-state-metrics' series, the chart's alert"
oom_alert_firing() {
  curl -sf --max-time 5 "http://$NODE_IP:30909/api/v1/alerts" | "$root/.venv/bin/python" -c '
import json, sys
alerts = json.load(sys.stdin)["data"]["alerts"]
sys.exit(not any(a["labels"]["alertname"] == "BackpressureProducerOOMKilled" and a["state"] == "firing" for a in alerts))'
}
wait_until 120 "BackpressureProducerOOMKilled firing in Prometheus" oom_alert_firing
fact "Prometheus: BackpressureProducerOOMKilled firing"
fact "passed in $(( $(date +%s) - started )) s"
