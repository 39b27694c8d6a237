#!/usr/bin/env bash
# The OOM lesson on the single node, as tools/kind/e2e.sh plays it on kind: the lab installed by helm, examples/03-oom.yaml
# applied, then: kubectl describe pod shows Last State Terminated / OOMKilled, the restart count went up, the operator
# recorded an OOMKilled event on the BackpressureConfig, and the restarted producer runs the current settings.
# Leaves the release installed (examples/01-baseline.yaml applied at the end).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$(cd "$here/../.." && pwd)"
. "$root/versions.env"
export KUBECONFIG="${KUBECONFIG:-${BPLAB_NODE_DIR:-/var/lib/bplab-node}/admin.kubeconfig}"
kubectl="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}/kubernetes-$KUBERNETES_VERSION/bin/kubectl"
ns="${NAMESPACE:-backpressure-lab}"
k() { "$kubectl" -n "$ns" "$@"; }
pod="$(k get pods -l app.kubernetes.io/component=producer -o jsonpath='{.items[0].metadata.name}')"
before="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')"
echo "producer $pod, restartCount before: $before"
s=$(date +%s)
# examples/*.yaml write `adaptiveConcurrency: off` unquoted: kubectl's YAML reads it as boolean false and the CRD
# rejects it ("must be of type string"). Quoted here until the examples are fixed.
sed 's/adaptiveConcurrency: off$/adaptiveConcurrency: "off"/' "$root/examples/03-oom.yaml" | k apply -f -
for _ in $(seq 1 72); do
  reason="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].lastState.terminated.reason}')"
  [[ $reason == OOMKilled ]] && break
  sleep 5
done
echo "OOMKilled after $(( $(date +%s) - s )) s"
k describe pod "$pod" | sed -n '/^Containers:/,/^Conditions:/p' | grep -E "State|Reason|Exit Code|Restart Count|Started|Finished|Limits|memory"
for _ in $(seq 60); do  # the count goes up when the kubelet starts the container again (after its back-off)
  after="$(k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')"
  (( after > before )) && break; sleep 1
done
echo "restartCount: $before -> $after"
k describe pod "$pod" | grep -E "^    (State|Last State|Restart Count)|^      Reason"
for _ in $(seq 30); do
  k get events --field-selector reason=OOMKilled,involvedObject.kind=BackpressureConfig -o name | grep -q . && break; sleep 2
done
k get events --field-selector involvedObject.kind=BackpressureConfig --sort-by=.lastTimestamp | tail -5
k wait --for=condition=Ready "pod/$pod" --timeout=60s
echo "== the restarted producer's live settings (/status .config, from the pod IP)"
ip="$(k get pod "$pod" -o jsonpath='{.status.podIP}')"
curl -s -m 5 "http://$ip:8000/status" | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d.get("settings", d.get("config", {})); print({key: s.get(key) for key in ("queue_mode","production_rate","max_queue_size")})' || true
sed 's/adaptiveConcurrency: off$/adaptiveConcurrency: "off"/' "$root/examples/01-baseline.yaml" | k apply -f -
