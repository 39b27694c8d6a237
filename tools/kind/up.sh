#!/usr/bin/env bash
# `make up`: the whole lab on a kind cluster, idempotent (a second run repairs instead of failing).
# `make up BUNDLE=path` takes every image, the chart and the tools from a bundle (make bundle) and downloads nothing.
# shellcheck source=../bundle/unpack.sh
. "$(dirname "${BASH_SOURCE[0]}")/../bundle/unpack.sh"

step "checking Docker, the network and the pinned tools"
require_docker
if [[ -n ${BUNDLE:-} ]]; then
  step "opening the bundle $BUNDLE (checksums, then its images into Docker)"
  open_bundle "$BUNDLE"
fi
pinned_tools
if ! cluster_exists; then
  require_free_ports
  [[ -n ${BUNDLE:-} ]] || require_network
  step "creating kind cluster '$CLUSTER' ($KIND_NODE_IMAGE)"
  timeout 600 "$KIND" create cluster --name "$CLUSTER" --config "$root/kind-config.yaml" --image "$KIND_NODE_IMAGE" --wait 180s >/dev/null
else
  step "kind cluster '$CLUSTER' exists: reusing it"
fi
"$KIND" export kubeconfig --name "$CLUSTER" >/dev/null
export KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}"

if [[ -n ${BUNDLE:-} ]]; then
  image="$BUNDLE_LAB_IMAGE"
  step "loading the bundle's ${#BUNDLE_IMAGES[@]} images into the cluster"
  timeout 1800 "$KIND" load docker-image "${BUNDLE_IMAGES[@]}" --name "$CLUSTER" >/dev/null
else
  step "building the lab's image"
  image="$(build_lab_image)"
  step "loading $image into the cluster"
  timeout 600 "$KIND" load docker-image "$image" --name "$CLUSTER" >/dev/null
fi
tag="${image#*:}"

step "installing kube-prometheus-stack $KUBE_PROMETHEUS_STACK_VERSION (Prometheus :9090, Grafana :3001)"
install_kube_prometheus_stack 12

step "installing the lab (release $RELEASE in namespace $NAMESPACE)"
"$KUBECTL" create namespace "$NAMESPACE" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" label namespace "$NAMESPACE" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
# Helm installs crds/ only on first install and never upgrades them: apply them every time.
"$KUBECTL" apply --server-side --force-conflicts -f "$root/charts/backpressure-lab/crds/" >/dev/null
lab_chart_args "$tag"
timeout 900 "$HELM" upgrade --install "$RELEASE" "$root/charts/backpressure-lab" --namespace "$NAMESPACE" \
  "${LAB_CHART_ARGS[@]}" --wait --timeout 8m >/dev/null

step "the lab is up"
cat <<URLS
  Producer    http://localhost:8000/status
  Consumer    http://localhost:8001/status
  Grafana     http://localhost:3001   (admin/admin; dashboard "Backpressure Lab")
  Prometheus  http://localhost:9090
  Jaeger      http://localhost:16686
  kubectl -n $NAMESPACE get bpc        # the lab's BackpressureConfig; exercises: kubectl apply -f examples/
URLS
