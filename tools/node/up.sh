#!/usr/bin/env bash
# `make up CLUSTER=node`: the lab on a real single Kubernetes node on this machine, without kind or a registry
# (docs/node.md). Idempotent: a running node and release are reused and repaired.
#   1. the pinned binaries (`make tools`, built here when Go is there) and Debian's containerd, runc, CNI plugins
#   2. the project's image built with Docker (tools/node/image.py) and the node's images packed (tools/node/images.sh)
#   3. the node (tools/node/start.sh): containerd, etcd, kube-apiserver, controller-manager, scheduler, kubelet,
#      kube-proxy, CoreDNS
#   4. kube-prometheus-stack (Prometheus, prometheus-operator, kube-state-metrics; no Grafana) from the images
#      `make tools` built, with deploy/kube-prometheus-stack.yaml and tools/node/values-kube-prometheus-stack.yaml
#   5. the chart, with tools/node/values-node.yaml (its ServiceMonitors, PrometheusRule and dashboard on)
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

step "checking root, containerd, runc, the CNI plugins and the pinned tools"
missing="$(missing_prerequisite)"
if [[ $missing == *"make tools"* ]]; then
  command -v go >/dev/null 2>&1 || die "$missing (needs Go 1.26+)"
  step "building the pinned tools (first run only; about 20 minutes cold on 2 cores)"
  "$root/tools/build-tools.sh" >/dev/null
  missing="$(missing_prerequisite)"
fi
[[ -z $missing ]] || die "$missing"

step "building the lab's image with Docker (the daemon at \$DOCKER_HOST, else one started for the build)"
image="$("$PYTHON" "$here/image.py")"
tag="${image##*:}"; repository="${image%:*}"

step "starting the node (kubelet $KUBERNETES_VERSION, containerd $(containerd --version | awk '{print $3}'))"
start=$(date +%s)
"$here/start.sh" >/dev/null
echo "node ready in $(( $(date +%s) - start )) s"
use_node
kubectl get nodes -o wide

step "installing kube-prometheus-stack $KUBE_PROMETHEUS_STACK_VERSION from $KPS_REPO_URL (Prometheus :30909; no Grafana here)"
start=$(date +%s)
install_kube_prometheus_stack 8 "$here/values-kube-prometheus-stack.yaml"
# The operator creates the Prometheus itself once its Deployment runs, after Helm's wait: wait for it to answer.
prometheus_ready() { curl -sf --max-time 5 "http://$NODE_IP:30909/-/ready" >/dev/null; }
wait_until 300 "Prometheus ready at http://$NODE_IP:30909" prometheus_ready || die "Prometheus did not get ready (kubectl -n $MONITORING_NAMESPACE get pods)"
echo "kube-prometheus-stack installed, Prometheus ready in $(( $(date +%s) - start )) s"

step "installing the lab (release $RELEASE in namespace $NAMESPACE, image $image)"
kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace "$NAMESPACE" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
# Helm installs crds/ only on first install and never upgrades them: apply them every time.
kubectl apply --server-side --force-conflicts -f "$root/charts/backpressure-lab/crds/" >/dev/null
start=$(date +%s)
timeout 600 helm upgrade --install "$RELEASE" "$root/charts/backpressure-lab" --namespace "$NAMESPACE" \
  --values "$here/values-node.yaml" \
  --set producer.image.repository="$repository" --set consumer.image.repository="$repository" \
  --set operator.image.repository="$repository" \
  --set producer.image.tag="$tag" --set consumer.image.tag="$tag" --set operator.image.tag="$tag" \
  --set jaeger.image.tag="$JAEGER_IMAGE_TAG" --wait --timeout 5m >/dev/null
echo "installed, every Deployment available in $(( $(date +%s) - start )) s"

step "the lab is up on this machine's node (context $CONTEXT)"
cat <<URLS
  Producer    http://$NODE_IP:30800/status       (NodePorts on the node's address; pods and ClusterIPs answer too)
  Consumer    http://$NODE_IP:30801/status
  Jaeger      http://$NODE_IP:31686/api/services (API only: the binary is built without the UI's assets)
  Prometheus  http://$NODE_IP:30909/api/v1/targets (API only: the binary is built without the UI's assets)
  Grafana: kind only (make up); its dashboard's queries answer on Prometheus' API here (docs/node.md)
  export KUBECONFIG=$STATE/admin.kubeconfig PATH=$(dirname "$KUBECTL"):\$PATH
  kubectl -n $NAMESPACE get bpc        # the lab's BackpressureConfig; exercises: kubectl apply -f examples/
  bplab --cluster --producer http://$NODE_IP:30800 --consumer http://$NODE_IP:30801 watch
URLS
