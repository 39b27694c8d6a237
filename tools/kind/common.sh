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
  local dirs
  if ! dirs="$("$root/tools/build-tools.sh" --print-dirs)"; then die "cannot read tool versions (versions.env)"; fi
  KIND="$(grep '^kind=' <<<"$dirs" | cut -d= -f2)/kind"
  KUBECTL="$(grep '^kubernetes=' <<<"$dirs" | cut -d= -f2)/kubectl"
  HELM="$(grep '^helm=' <<<"$dirs" | cut -d= -f2)/helm"
  if [[ ! -x "$KIND" || ! -x "$KUBECTL" || ! -x "$HELM" ]]; then
    command -v go >/dev/null 2>&1 || die "kind $KIND_VERSION, kubectl $KUBERNETES_VERSION and helm $HELM_VERSION are missing and Go is not installed: install Go 1.26+ (they are built from pinned sources), then run make up again"
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
