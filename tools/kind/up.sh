#!/usr/bin/env bash
# `make up`: the whole lab on a kind cluster, idempotent (a second run repairs instead of failing).
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

step "checking Docker, the network and the pinned tools"
require_docker
pinned_tools
if ! cluster_exists; then
  require_free_ports
  require_network
  step "creating kind cluster '$CLUSTER' ($KIND_NODE_IMAGE)"
  timeout 600 "$KIND" create cluster --name "$CLUSTER" --config "$root/kind-config.yaml" --image "$KIND_NODE_IMAGE" --wait 180s >/dev/null
else
  step "kind cluster '$CLUSTER' exists: reusing it"
fi
"$KIND" export kubeconfig --name "$CLUSTER" >/dev/null
export KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}"

tag="$(image_tag)"
image="backpressure-lab:$tag"
step "building image $image"
(cd "$root" && timeout 1200 docker build -q -t "$image" . >/dev/null)
step "loading $image into the cluster"
timeout 600 "$KIND" load docker-image "$image" --name "$CLUSTER" >/dev/null

step "installing kube-prometheus-stack $KUBE_PROMETHEUS_STACK_VERSION (Prometheus :9090, Grafana :3001)"
install_kube_prometheus_stack 12

step "installing the lab (release $RELEASE in namespace $NAMESPACE)"
"$KUBECTL" create namespace "$NAMESPACE" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" label namespace "$NAMESPACE" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
# Helm installs crds/ only on first install and never upgrades them: apply them every time.
"$KUBECTL" apply --server-side --force-conflicts -f "$root/charts/backpressure-lab/crds/" >/dev/null
timeout 900 "$HELM" upgrade --install "$RELEASE" "$root/charts/backpressure-lab" --namespace "$NAMESPACE" \
  --set producer.image.tag="$tag" --set consumer.image.tag="$tag" --set operator.image.tag="$tag" \
  --set jaeger.image.tag="$JAEGER_IMAGE_TAG" \
  --set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set dashboards.enabled=true \
  --wait --timeout 8m >/dev/null

step "the lab is up"
cat <<URLS
  Producer    http://localhost:8000/status
  Consumer    http://localhost:8001/status
  Grafana     http://localhost:3001   (admin/admin; dashboard "Backpressure Lab")
  Prometheus  http://localhost:9090
  Jaeger      http://localhost:16686
  kubectl -n $NAMESPACE get bpc        # the lab's BackpressureConfig; exercises: kubectl apply -f examples/
URLS
