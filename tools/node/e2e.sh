#!/usr/bin/env bash
# Prototype of `make e2e CLUSTER=local`: the lab on the single node of this machine (tools/node/up.sh), installed
# with helm from the chart, every pod Running, helm test, then the OOM lesson (tools/node/oom-lesson.sh).
# The image: BPLAB_IMAGE (default backpressure-lab:node), built with Docker and exported by tools/node/images.sh.
# KEEP=1 leaves the node running at the end; otherwise it is stopped and cleaned (tools/node/down.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$(cd "$here/../.." && pwd)"
. "$root/versions.env"
cache="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}"
kubectl="$cache/kubernetes-$KUBERNETES_VERSION/bin/kubectl"; helm="$cache/helm-$HELM_VERSION/bin/helm"
image="${BPLAB_IMAGE:-backpressure-lab:node}"; tag="${image##*:}"; repo="${image%:*}"
ns=backpressure-lab; release=backpressure-lab
step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%T)"; }
[[ ${KEEP:-0} == 1 ]] || trap '"$here/down.sh" >/dev/null 2>&1 || true' EXIT

step "node up"; s=$(date +%s)
KUBECONFIG="$("$here/up.sh")"; export KUBECONFIG
echo "node ready in $(( $(date +%s) - s )) s"; "$kubectl" get nodes -o wide

step "helm upgrade --install $release ($image)"; s=$(date +%s)
"$helm" upgrade --install "$release" "$root/charts/backpressure-lab" -n "$ns" --create-namespace \
  --set producer.image.repository="$repo" --set consumer.image.repository="$repo" --set operator.image.repository="$repo" \
  --set producer.image.tag="$tag" --set consumer.image.tag="$tag" --set operator.image.tag="$tag" \
  --set jaeger.image.tag="$JAEGER_IMAGE_TAG" --wait --timeout 5m >/dev/null
echo "installed and every Deployment available in $(( $(date +%s) - s )) s"
"$kubectl" -n "$ns" get pods -o wide
step "helm test"; "$helm" test "$release" -n "$ns" --timeout 4m | grep -E "TEST SUITE|Phase"
step "OOM lesson"; "$here/oom-lesson.sh"
step "e2e passed"
