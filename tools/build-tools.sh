#!/usr/bin/env bash
# Build the pinned tools (versions.env) from source into a cache outside the repo, keyed by version:
#
#   ${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}/<component>-<version>/bin/<binary>
#
# Usage: tools/build-tools.sh                 build every missing tool
#        tools/build-tools.sh etcd kubernetes build a subset (components: etcd kubernetes helm kind jaeger coredns
#                                             prometheus prometheus-operator kube-state-metrics)
#        tools/build-tools.sh --print-dirs    print COMPONENT=<bin dir> lines and exit (builds nothing)
#
# A binary already in the cache is never rebuilt, so a second run builds nothing. A binary of exactly the pinned
# version already on PATH is linked into the cache instead of built. Builds run one at a time (2-core machines); the
# modules they need are fetched all at once beside them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=/dev/null
. "$root/versions.env"

# The Kubernetes commands `make tools` builds from tools/go/kubernetes, one release for the whole cluster: the control
# plane and kubectl (control-plane tier, kind), and the node's kubelet, kube-scheduler and kube-proxy (the single-node
# path, docs/node.md). The wrapper's go.mod lists all six as tools. Each binary is checked on its own, so a cache dir
# made before a name was added here gets just the missing ones built. Upstream builds all six with CGO_ENABLED=0 (the
# kubelet too since v1.36, kubernetes/kubernetes#135870), so one `go build` compiles the shared packages once for all.
K8S_BINARIES=(kube-apiserver kube-controller-manager kubectl kube-scheduler kube-proxy kubelet)

ALL_COMPONENTS=(etcd kubernetes helm kind jaeger coredns prometheus prometheus-operator kube-state-metrics)
# The commands built from the prometheus-operator release: the operator and the sidecar it adds to every Prometheus.
PROMETHEUS_OPERATOR_BINARIES=(operator prometheus-config-reloader)
cache="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}"

export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"

dir_of() {  # component -> bin dir
  case "$1" in
    etcd) echo "$cache/etcd-$ETCD_VERSION/bin" ;;
    kubernetes) echo "$cache/kubernetes-$KUBERNETES_VERSION/bin" ;;
    helm) echo "$cache/helm-$HELM_VERSION/bin" ;;
    kind) echo "$cache/kind-$KIND_VERSION/bin" ;;
    jaeger) echo "$cache/jaeger-$JAEGER_VERSION/bin" ;;
    coredns) echo "$cache/coredns-$COREDNS_VERSION/bin" ;;
    prometheus) echo "$cache/prometheus-$PROMETHEUS_VERSION/bin" ;;
    prometheus-operator) echo "$cache/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/bin" ;;
    kube-state-metrics) echo "$cache/kube-state-metrics-$KUBE_STATE_METRICS_VERSION/bin" ;;
    *) echo "unknown component: $1 (known: ${ALL_COMPONENTS[*]})" >&2; return 1 ;;
  esac
}

if [[ "${1:-}" == "--print-dirs" ]]; then
  for c in "${ALL_COMPONENTS[@]}"; do echo "$c=$(dir_of "$c")"; done
  exit 0
fi

log() { printf 'build-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- A tool of the pinned version already on PATH is used instead of building it ------------------------------------
path_version_matches() {  # binary -> 0 when `binary` on PATH reports the pinned version
  local bin="$1" path out
  path="$(command -v "$bin" 2>/dev/null)" || return 1
  case "$path" in "$cache"/*) return 1 ;; esac
  case "$bin" in
    etcd) out="$(timeout 10 "$path" --version 2>/dev/null)" || return 1
          grep -qx "etcd Version: ${ETCD_VERSION#v}" <<<"$out" ;;
    kubectl) out="$(timeout 10 "$path" version --client 2>/dev/null)" || return 1
          grep -qx "Client Version: $KUBERNETES_VERSION" <<<"$out" ;;
    kube-*|kubelet) out="$(timeout 10 "$path" --version 2>/dev/null)" || return 1
          [[ "$out" == "Kubernetes $KUBERNETES_VERSION" ]] ;;
    helm) out="$(timeout 10 "$path" version --template '{{.Version}}' 2>/dev/null)" || return 1
          [[ "$out" == "$HELM_VERSION" ]] ;;
    kind) out="$(timeout 10 "$path" version 2>/dev/null)" || return 1
          [[ "$out" == "kind $KIND_VERSION "* ]] ;;
    jaeger) out="$(timeout 10 "$path" version 2>/dev/null)" || return 1
          grep -q "\"gitVersion\": *\"v$JAEGER_IMAGE_TAG\"" <<<"$out" ;;
    coredns) out="$(timeout 10 "$path" -version 2>/dev/null)" || return 1
          grep -q "^CoreDNS-${COREDNS_VERSION#v}$" <<<"$out" ;;
    *) return 1 ;;
  esac
}

# Returns 0 when `bin` needs building: not in the cache and not on PATH at the pinned version (then linked).
needs_build() {  # bin_dir binary
  local dir="$1" bin="$2"
  [[ -x "$dir/$bin" ]] && return 1
  if path_version_matches "$bin"; then
    mkdir -p "$dir"
    ln -sfn "$(command -v "$bin")" "$dir/$bin"
    log "$bin: using $(command -v "$bin") from PATH (pinned version) -> $dir/$bin"
    return 1
  fi
  return 0
}

check_go() {
  command -v go >/dev/null || die "go not found: install Go >= $GO_MIN_VERSION (https://go.dev/dl or your package manager)"
  local have
  have="$(go env GOVERSION)"; have="${have#go}"
  if [[ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$have" | sort -V | head -1)" != "$GO_MIN_VERSION" ]]; then
    die "go $have is older than $GO_MIN_VERSION (versions.env GO_MIN_VERSION)"
  fi
}

check_wrapper() {  # wrapper dir, module path, pinned version, generator
  local mod="$root/tools/go/$1/go.mod"
  [[ -f "$mod" ]] || die "$mod missing: run tools/$4"
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2 $3( |$)" "$mod" \
    || die "$mod does not require $2 $3 (versions.env changed?): run tools/$4 and commit the result"
}

release_time() {  # module@version -> RFC 3339 UTC time of the tag, from the module proxy
  (cd "$root/tools/go" && GOFLAGS='' go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$1")
}

install_into() {  # tmp dir with built binaries -> bin dir (atomic per binary)
  local tmp="$1" dir="$2" f
  mkdir -p "$dir"
  for f in "$tmp"/*; do mv -f "$f" "$dir/$(basename "$f")"; done
}

timed() {  # label cmd... : run and log the wall time
  local label="$1" start end; shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  log "$label built in $((end - start)) s"
}

# --- Components -----------------------------------------------------------------------------------------------------
build_etcd() {
  local dir; dir="$(dir_of etcd)"
  needs_build "$dir" etcd || { log "etcd $ETCD_VERSION: up to date ($dir)"; return 0; }
  check_go
  check_wrapper etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "gen-go-wrapper.sh etcd"
  local tmp; tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  log "etcd $ETCD_VERSION: building go.etcd.io/etcd/server/v3 -> $dir/etcd"
  # etcd's release build: CGO off, -trimpath, GitSHA on the api/version package (Version itself is a constant). -s -w
  # (no symbol table, no DWARF): nobody debugs the tools here, and the link is faster and the binary smaller.
  (cd "$root/tools/go/etcd" && timed "etcd $ETCD_VERSION" env CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
      -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  install_into "$tmp" "$dir"; rmdir "$tmp"
}

k8s_ldflags() {
  local minor commit date pkg flags="-s -w"
  minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  commit="${KUBERNETES_GIT_COMMIT:-}"
  date="$(release_time "k8s.io/kubernetes@$KUBERNETES_VERSION")"
  # The same -X flags as upstream's hack/lib/version.sh, on both version packages (server /version and client-go).
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "$flags"
}

build_kubernetes() {
  local dir bin; dir="$(dir_of kubernetes)"
  local packages=()
  for bin in "${K8S_BINARIES[@]}"; do
    needs_build "$dir" "$bin" && packages+=("k8s.io/kubernetes/cmd/$bin")
  done
  if (( ${#packages[@]} == 0 )); then log "kubernetes $KUBERNETES_VERSION: up to date ($dir)"; return 0; fi
  check_go
  check_wrapper kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION" gen-k8s-wrapper.sh
  local ldflags tmp; ldflags="$(k8s_ldflags)"
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  log "kubernetes $KUBERNETES_VERSION: building ${packages[*]##*/} (CGO_ENABLED=0) -> $dir"
  (cd "$root/tools/go/kubernetes" && timed "kubernetes ${packages[*]##*/}" \
      env CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${packages[@]}")
  install_into "$tmp" "$dir"; rmdir "$tmp"
}

build_helm() {
  local dir; dir="$(dir_of helm)"
  needs_build "$dir" helm || { log "helm $HELM_VERSION: up to date ($dir)"; return 0; }
  check_go
  local major="${HELM_VERSION%%.*}" tmp
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  log "helm $HELM_VERSION: go install helm.sh/helm/$major/cmd/helm@$HELM_VERSION -> $dir/helm"
  # Helm's Makefile flags for a tagged release. Helm 4 derives the Kubernetes version it assumes (.Capabilities
  # KubeVersion for `helm template`) from the k8s.io/client-go version in the binary's build info, so the release's
  # own go.mod (client-go v0.37.x -> Kubernetes v1.37) is kept: `go install pkg@version` builds exactly that.
  # go install pkg@version ignores any go.mod, so -mod must not be set.
  timed "helm $HELM_VERSION" env GOFLAGS="${GOFLAGS//-mod=mod/}" GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION \
-X helm.sh/helm/$major/internal/version.metadata= \
-X helm.sh/helm/$major/internal/version.gitCommit= \
-X helm.sh/helm/$major/internal/version.gitTreeState=clean" \
      "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
  install_into "$tmp" "$dir"; rmdir "$tmp"
}

# `go install MODULE@VERSION` into the component's cache dir, reproducible (-trimpath), CGO off, with LDFLAGS: for the
# tools whose go.mod needs no replaces (kind, CoreDNS).
go_install_tool() {  # name version module ldflags
  local name="$1" version="$2" module="$3" ldflags="$4" dir tmp
  dir="$(dir_of "$name")"
  needs_build "$dir" "$name" || { log "$name $version: up to date ($dir)"; return 0; }
  check_go
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  log "$name $version: go install $module@$version -> $dir/$name"
  timed "$name $version" env GOFLAGS="${GOFLAGS//-mod=mod/}" GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath \
      -ldflags "$ldflags" "$module@$version"
  install_into "$tmp" "$dir"; rmdir "$tmp"
}

build_kind() {
  # kind's Makefile: reproducible (-trimpath, -buildid=), stripped; its version core is a constant in the source.
  go_install_tool kind "$KIND_VERSION" sigs.k8s.io/kind "-buildid= -s -w"
}

build_jaeger() {
  local dir; dir="$(dir_of jaeger)"
  needs_build "$dir" jaeger || { log "jaeger $JAEGER_VERSION (v$JAEGER_IMAGE_TAG): up to date ($dir)"; return 0; }
  check_go
  check_wrapper jaeger github.com/jaegertracing/jaeger "$JAEGER_VERSION" "gen-go-wrapper.sh jaeger"
  local tmp date pkg=github.com/jaegertracing/jaeger/internal/version
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  date="$(release_time "github.com/jaegertracing/jaeger@$JAEGER_VERSION")"
  log "jaeger $JAEGER_VERSION (v$JAEGER_IMAGE_TAG): building github.com/jaegertracing/jaeger/cmd/jaeger -> $dir/jaeger"
  # Jaeger's build-jaeger target (scripts/makefiles: GOBUILD, BUILD_INFO_V2): CGO off, -trimpath, the v2 tag as
  # latestVersion, the tag time as date; stripped here (-s -w, as for etcd); the module proxy lacks the commit, so
  # commitSHA stays empty. The UI
  # assets (cmd/query/app/ui/actual, an npm build) are not in the module: the binary serves the API and a placeholder.
  (cd "$root/tools/go/jaeger" && timed "jaeger $JAEGER_VERSION" env CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X $pkg.latestVersion=v$JAEGER_IMAGE_TAG -X $pkg.date=$date" \
      -o "$tmp/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger)
  install_into "$tmp" "$dir"; rmdir "$tmp"
}

build_coredns() {
  # CoreDNS's Makefile: CGO off, -s -w, the commit on coremain.GitCommit (the proxy has no commit: the tag instead).
  # Its go.mod has no replaces, so `go install pkg@version` builds it as released.
  go_install_tool coredns "$COREDNS_VERSION" github.com/coredns/coredns \
      "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
}

# The Prometheus ecosystem's version stamp (github.com/prometheus/common/version), as their Makefiles set it; the
# module proxy has no commit or branch, so Revision names the tag and the build date is the tag's time.
prometheus_version_ldflags() {  # version module@tag
  local date pkg=github.com/prometheus/common/version
  date="$(release_time "$2")"
  echo "-s -w -X $pkg.Version=$1 -X $pkg.Revision=${2#*@} -X $pkg.Branch=HEAD -X $pkg.BuildUser=backpressure-lab -X $pkg.BuildDate=$date"
}

build_prometheus() {
  local dir; dir="$(dir_of prometheus)"
  needs_build "$dir" prometheus || { log "prometheus $PROMETHEUS_VERSION: up to date ($dir)"; return 0; }
  check_go
  check_wrapper prometheus github.com/prometheus/prometheus "$PROMETHEUS_VERSION" "gen-go-wrapper.sh prometheus"
  local tmp ldflags; tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  ldflags="$(prometheus_version_ldflags "${PROMETHEUS_RELEASE#v}" "github.com/prometheus/prometheus@$PROMETHEUS_VERSION")"
  log "prometheus $PROMETHEUS_VERSION ($PROMETHEUS_RELEASE): building cmd/prometheus -> $dir/prometheus"
  # Upstream's .promu.yml: CGO off, tags netgo and builtinassets. Not builtinassets: the web UI's assets are an npm
  # build outside the Go module (the binary serves the API; docs/node.md). remove_all_sd + enable_kubernetes_sd keep
  # only the service discovery prometheus-operator's configs use (Kubernetes; file, http and static always stay)
  # and leave out the cloud providers' SDKs, which are most of the build.
  (cd "$root/tools/go/prometheus" && timed "prometheus $PROMETHEUS_VERSION" env CGO_ENABLED=0 go build -trimpath \
      -tags netgo,remove_all_sd,enable_kubernetes_sd -ldflags "$ldflags" \
      -o "$tmp/prometheus" github.com/prometheus/prometheus/cmd/prometheus)
  install_into "$tmp" "$dir"; rmdir "$tmp"
}

build_prometheus_operator() {
  local dir bin module=github.com/prometheus-operator/prometheus-operator packages=()
  dir="$(dir_of prometheus-operator)"
  for bin in "${PROMETHEUS_OPERATOR_BINARIES[@]}"; do needs_build "$dir" "$bin" && packages+=("$module/cmd/$bin"); done
  if (( ${#packages[@]} == 0 )); then log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION: up to date ($dir)"; return 0; fi
  check_go
  check_wrapper prometheus-operator "$module" "$PROMETHEUS_OPERATOR_VERSION" "gen-go-wrapper.sh prometheus-operator"
  local tmp ldflags; tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  ldflags="$(prometheus_version_ldflags "${PROMETHEUS_OPERATOR_VERSION#v}" "$module@$PROMETHEUS_OPERATOR_VERSION")"
  log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION: building ${packages[*]##*/} -> $dir"
  # Its Makefile's GO_BUILD_RECIPE: CGO off, the version stamp; one `go build` compiles the shared packages once.
  (cd "$root/tools/go/prometheus-operator" && timed "prometheus-operator ${packages[*]##*/}" env CGO_ENABLED=0 \
      go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${packages[@]}")
  install_into "$tmp" "$dir"; rmdir "$tmp"
}

build_kube_state_metrics() {
  # Its Makefile: CGO off, -s -w, the version stamp (with the v, as its releases report it). Its go.mod has no
  # replaces, so `go install pkg@version` builds it as released.
  local ldflags module=k8s.io/kube-state-metrics/v2
  needs_build "$(dir_of kube-state-metrics)" kube-state-metrics \
    || { log "kube-state-metrics $KUBE_STATE_METRICS_VERSION: up to date ($(dir_of kube-state-metrics))"; return 0; }
  check_go
  ldflags="$(prometheus_version_ldflags "$KUBE_STATE_METRICS_VERSION" "$module@$KUBE_STATE_METRICS_VERSION")"
  go_install_tool kube-state-metrics "$KUBE_STATE_METRICS_VERSION" "$module" "$ldflags"
}

# --- Module downloads ahead of the builds ----------------------------------------------------------------------------
# A cold build spends much of its time fetching modules, one component after another, while the other core waits.
# So every module the missing components will need is fetched at once, in the background, while the first one
# compiles; each build then finds its modules in the cache (the module cache is locked per module, so the two never
# fetch the same one twice). A failed prefetch changes nothing: the build fetches what is missing and says why.
binaries_of() {  # component -> the binaries it installs
  case "$1" in
    kubernetes) echo "${K8S_BINARIES[@]}" ;;
    prometheus-operator) echo "${PROMETHEUS_OPERATOR_BINARIES[@]}" ;;
    *) echo "$1" ;;
  esac
}

missing_from_cache() {  # component -> 0 when one of its binaries is not in the cache yet
  local dir bin; dir="$(dir_of "$1")"
  for bin in $(binaries_of "$1"); do [[ -x "$dir/$bin" ]] || return 0; done
  return 1
}

fetch_wrapper_modules() {  # wrapper dir under tools/go
  (cd "$root/tools/go/$1" && go mod download)
}

fetch_release_modules() {  # module@version: that module and every module its own go.mod requires
  local dir tmp
  dir="$(GOFLAGS='' go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" ]] || return 1
  tmp="$(mktemp -d)"
  cp "$dir/go.mod" "$dir/go.sum" "$tmp/"
  (cd "$tmp" && GOFLAGS='' go mod download); local code=$?
  rm -rf "$tmp"
  return "$code"
}

fetch_modules_of() {  # component
  case "$1" in
    etcd|kubernetes|jaeger|prometheus|prometheus-operator) fetch_wrapper_modules "$1" ;;
    helm) fetch_release_modules "helm.sh/helm/${HELM_VERSION%%.*}@$HELM_VERSION" ;;
    kind) fetch_release_modules "sigs.k8s.io/kind@$KIND_VERSION" ;;
    coredns) fetch_release_modules "github.com/coredns/coredns@$COREDNS_VERSION" ;;
    kube-state-metrics) fetch_release_modules "k8s.io/kube-state-metrics/v2@$KUBE_STATE_METRICS_VERSION" ;;
  esac
}

prefetch_modules() {  # components...: fetch each one's modules, all at once; logs the time
  local c started; started=$(date +%s)
  local pids=()
  for c in "$@"; do
    ( fetch_modules_of "$c" >/dev/null 2>&1 || log "$c: fetching its modules ahead failed; its build fetches them" ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  log "modules of $* fetched in $(( $(date +%s) - started )) s, beside the builds"
}

# --- Main -----------------------------------------------------------------------------------------------------------
components=("$@")
(( ${#components[@]} )) || components=("${ALL_COMPONENTS[@]}")
for c in "${components[@]}"; do dir_of "$c" >/dev/null; done

mkdir -p "$cache"
# One build at a time per cache, even when two `make test` runs start together.
if command -v flock >/dev/null; then
  exec 9>"$cache/.build.lock"
  flock 9
fi
rm -rf "$cache"/.build.*/ 2>/dev/null || true

start=$(date +%s)
ahead=(); for c in "${components[@]}"; do missing_from_cache "$c" && ahead+=("$c"); done
prefetch=
if (( ${#ahead[@]} > 1 )) && command -v go >/dev/null; then prefetch_modules "${ahead[@]}" & prefetch=$!; fi
for c in "${components[@]}"; do "build_${c//-/_}"; done
[[ -z "$prefetch" ]] || wait "$prefetch" || true
dirs=(); for c in "${components[@]}"; do [[ -d "$(dir_of "$c")" ]] && dirs+=("$(dirname "$(dir_of "$c")")"); done
log "done in $(( $(date +%s) - start )) s; $(du -shc "${dirs[@]}" 2>/dev/null | tail -1 | cut -f1) in ${dirs[*]:-nothing}"
