# Shared by up.sh and e2e.sh: pinned versions, tool lookup, one-line errors.
# shellcheck shell=bash
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=/dev/null
. "$root/versions.env"
# shellcheck source=../lib/wait.sh
. "$root/tools/lib/wait.sh"
# shellcheck source=../lib/kube-prometheus-stack.sh
. "$root/tools/lib/kube-prometheus-stack.sh"
# shellcheck source=../lib/tool-cache.sh
. "$root/tools/lib/tool-cache.sh"
# BPLAB_KIND_NODE_IMAGE: another kind node image than the pinned one (a `kind build node-image` of your own); make
# bundle packs it and make up creates the cluster from it.
KIND_NODE_IMAGE="${BPLAB_KIND_NODE_IMAGE:-$KIND_NODE_IMAGE}"
# shellcheck disable=SC2034  # used by the scripts that source this file
CLUSTER=backpressure-lab
# shellcheck disable=SC2034
NAMESPACE=backpressure-lab
# shellcheck disable=SC2034
RELEASE=backpressure-lab
LAB_PORTS=(8000 8001 3001 9090 16686)

step() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# kind, kubectl and helm at the pinned versions: built from Go modules when Go is there (tools/build-tools.sh),
# else the caller is told how to get them. Never a tool of another version silently.
pinned_tools() {
  KIND="$(tool_dir kind)/kind"
  KUBECTL="$(tool_dir kubernetes)/kubectl"
  HELM="$(tool_dir helm)/helm"
  if [[ ! -x "$KIND" || ! -x "$KUBECTL" || ! -x "$HELM" ]]; then
    command -v go >/dev/null 2>&1 || die "kind $KIND_VERSION, kubectl $KUBERNETES_VERSION and helm $HELM_VERSION are missing and Go is not installed: install Go 1.26+ (they are built from pinned sources), or bring them in a bundle (make up BUNDLE=...), then run make up again"
    step "building kind, kubectl and helm at their pinned versions (first run only, several minutes)"
    "$root/tools/build-tools.sh" kind helm kubernetes >/dev/null
  fi
  export KIND KUBECTL HELM
}

require_docker() {
  command -v docker >/dev/null 2>&1 || die "Docker is not installed: install Docker (Docker Desktop, or the docker.io package), then run make up again"
  timeout 20 docker info >/dev/null 2>&1 || die "Docker is not running (docker info failed): start Docker, then run make up again"
}

cluster_exists() { "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER"; }

require_network() {
  # kind pulls its node image and the charts pull Grafana, Prometheus and Jaeger images from public registries.
  if ! timeout 10 bash -c 'exec 3<>/dev/tcp/registry-1.docker.io/443' 2>/dev/null; then
    die "the network is offline (registry-1.docker.io:443 unreachable): make up pulls the kind node image and the Grafana, Prometheus and Jaeger images; connect to the internet and run make up again"
  fi
}

require_free_ports() {
  local port
  for port in "${LAB_PORTS[@]}"; do
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
      die "port $port on localhost is already in use by another program (see: lsof -i :$port); stop it, then run make up again"
    fi
  done
}

# A tag that changes whenever the image's inputs change, never :latest (kind would pull :latest again).
image_tag() {
  (cd "$root" && git ls-files -s Dockerfile pyproject.toml constraints.txt README.md src | sha256sum | cut -c1-12)
}

# lab_chart_args TAG: the lab chart's settings as make up installs it (image TAG, Jaeger's pinned image, the monitoring
# integrations on), in LAB_CHART_ARGS; make bundle renders the chart with the same ones to list its images.
lab_chart_args() {
  # shellcheck disable=SC2034  # read by the scripts that source this file
  LAB_CHART_ARGS=(--set producer.image.tag="$1" --set consumer.image.tag="$1" --set operator.image.tag="$1"
    --set jaeger.image.tag="$JAEGER_IMAGE_TAG"
    --set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set dashboards.enabled=true)
}

# build_lab_image: the lab's one image (producer, consumer, operator) as backpressure-lab:<image_tag>; prints its name.
build_lab_image() {
  local image errors
  image="backpressure-lab:$(image_tag)"
  errors="$(cd "$root" && DOCKER_BUILDKIT=1 timeout 1200 docker build -q -t "$image" . 2>&1 >/dev/null)" \
    || die "docker build of $image failed ($(tail -n 1 <<<"$errors")): run \`make image\` to see the whole log"
  echo "$image"
}
