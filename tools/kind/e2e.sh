#!/usr/bin/env bash
# `make e2e`: the kind path end to end. Brings the lab up, runs `helm test`, plays the OOM lesson and asserts that
# OOMKilled shows in `kubectl describe pod` and as an event on the BackpressureConfig. On failure it dumps pod logs,
# events and describes before anything goes away. Needs Docker and the internet; without them it stops at once.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_docker
pinned_tools
cluster_exists || require_network

dump() {
  step "failure: dumping pods, events, describes and logs of namespace $NAMESPACE"
  "$KUBECTL" -n "$NAMESPACE" get pods,bpc -o wide || true
  "$KUBECTL" -n "$NAMESPACE" get events --sort-by=.lastTimestamp || true
  "$KUBECTL" -n "$NAMESPACE" describe pods,bpc || true
  for pod in $("$KUBECTL" -n "$NAMESPACE" get pods -o name); do
    echo "--- logs $pod"; "$KUBECTL" -n "$NAMESPACE" logs "$pod" --all-containers --previous 2>/dev/null || true
    "$KUBECTL" -n "$NAMESPACE" logs "$pod" --all-containers --tail=200 || true
  done
}
trap 'dump' ERR

"$root/tools/kind/up.sh"
export KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}"
step "helm test"
timeout 300 "$HELM" test "$RELEASE" -n "$NAMESPACE" --timeout 4m

step "the exercise checks against the cluster (bplab --cluster check all)"
PATH="$(dirname "$KUBECTL"):$PATH" timeout 1800 "$root/.venv/bin/bplab" --cluster --context "kind-$CLUSTER" \
  --namespace "$NAMESPACE" check all

step "the OOM lesson: consumer 5x slower, 50 items/s, unbounded queue (tools/lib/oom-lesson.sh)"
KUBECTL="$KUBECTL" "$root/tools/lib/oom-lesson.sh" "$NAMESPACE" "http://localhost:8000"
step "e2e passed: OOMKilled in kubectl describe pod, counted and posted by the operator, the restarted producer current"
