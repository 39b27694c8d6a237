# Shared by the single-node scripts (start, stop, up, down, e2e): pinned versions, the node's names and addresses,
# tool paths, one-line errors and the prerequisite check.
# shellcheck shell=bash
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034  # used by the scripts that source this file
here="$root/tools/node"
# shellcheck source=/dev/null
. "$root/versions.env"
# shellcheck source=../lib/wait.sh
. "$root/tools/lib/wait.sh"
# shellcheck source=../lib/kube-prometheus-stack.sh
. "$root/tools/lib/kube-prometheus-stack.sh"
# shellcheck source=../lib/tool-cache.sh
. "$root/tools/lib/tool-cache.sh"
cache="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}"
# shellcheck disable=SC2034
STATE="${BPLAB_NODE_DIR:-/var/lib/bplab-node}"
# shellcheck disable=SC2034
NODE_IP="${BPLAB_NODE_IP:-10.200.0.1}"
# shellcheck disable=SC2034
CONTEXT=bplab-local        # the admin kubeconfig's context (tools/node/node.py), accepted by `bplab --cluster`
# shellcheck disable=SC2034
NAMESPACE=backpressure-lab
# shellcheck disable=SC2034
RELEASE=backpressure-lab
# shellcheck disable=SC2034
PIDFILE=/run/bplab-node.pid
KUBECTL="$cache/kubernetes-$KUBERNETES_VERSION/bin/kubectl"
HELM="$cache/helm-$HELM_VERSION/bin/helm"
PYTHON="${PYTHON:-python3}"
[[ $PYTHON == python3 && -x $root/.venv/bin/python ]] && PYTHON="$root/.venv/bin/python"
export KUBECTL HELM PYTHON

step() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The first thing this machine lacks for the node, as one line that says what to do; nothing when all is there.
missing_prerequisite() {
  local tool bin
  [[ $(uname -s) == Linux ]] || { echo "the local cluster needs Linux (cgroups, iptables, network namespaces)"; return; }
  [[ $(id -u) == 0 ]] || { echo "the local cluster needs root (containerd, kubelet, iptables, cgroups): run as root"; return; }
  for tool in containerd:containerd ctr:containerd runc:runc iptables:iptables iptables-save:iptables \
      conntrack:conntrack curl:curl ip:iproute2 sysctl:procps openssl:openssl gcc:gcc python3:python3; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || { echo "${tool%%:*} not found: apt-get install -y ${tool#*:}"; return; }
  done
  # the pause image is a static binary: gcc -static needs libc.a
  [[ $(gcc -print-file-name=libc.a 2>/dev/null) == /* ]] \
    || { echo "static libc (libc.a) not found: apt-get install -y libc6-dev"; return; }
  for bin in bridge host-local portmap loopback; do
    [[ -x /usr/lib/cni/$bin ]] || { echo "CNI plugin /usr/lib/cni/$bin not found: apt-get install -y containernetworking-plugins"; return; }
  done
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || modprobe br_netfilter 2>/dev/null \
    || { echo "the kernel lacks br_netfilter (/proc/sys/net/bridge): load the module (modprobe br_netfilter)"; return; }
  for bin in etcd:etcd kubernetes:kube-apiserver kubernetes:kube-controller-manager kubernetes:kube-scheduler \
      kubernetes:kubelet kubernetes:kube-proxy kubernetes:kubectl helm:helm coredns:coredns jaeger:jaeger \
      $(monitoring_images | cut -d' ' -f1); do
    [[ -x "$(tool_dir "${bin%%:*}")/${bin#*:}" ]] \
      || { echo "${bin#*:} is not built: run \`make tools\` (builds the pinned tools into $cache)"; return; }
  done
}

# kube-prometheus-stack's images on this profile, one line each: COMPONENT:BINARY (built by `make tools`), the path of
# the binary in the image (its entrypoint), the image reference, the user. The references are exactly those the chart
# (KUBE_PROMETHEUS_STACK_VERSION) renders with values-kube-prometheus-stack.yaml (tests/chart checks it): the node
# pulls nothing, so a reference that differs is a pod that never starts. The config reloader must be at /bin:
# prometheus-operator runs it by that path.
monitoring_images() {
  echo "prometheus:prometheus bin/prometheus quay.io/prometheus/prometheus:$PROMETHEUS_RELEASE-distroless 65534:65534"
  echo "prometheus-operator:operator bin/operator quay.io/prometheus-operator/prometheus-operator:$PROMETHEUS_OPERATOR_VERSION 65534:65534"
  echo "prometheus-operator:prometheus-config-reloader bin/prometheus-config-reloader quay.io/prometheus-operator/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION 65534:65534"
  echo "kube-state-metrics:kube-state-metrics kube-state-metrics registry.k8s.io/kube-state-metrics/kube-state-metrics:$KUBE_STATE_METRICS_VERSION 65534:65534"
}

require_prerequisites() {
  local missing
  missing="$(missing_prerequisite)"
  [[ -z $missing ]] || die "$missing"
}

# Whether the node.py up that start.sh recorded in the pidfile is still running (its PID, checked by command line).
node_running() {
  local pid cmdline
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ $cmdline == *"node.py up"* ]]
}

# Run with the node's admin kubeconfig and the pinned kubectl/helm.
use_node() {
  export KUBECONFIG="$STATE/admin.kubeconfig"
  PATH="$(dirname "$KUBECTL"):$(dirname "$HELM"):$PATH"
  export PATH
}
