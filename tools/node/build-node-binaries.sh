#!/usr/bin/env bash
# Build the node's Kubernetes binaries (kubelet, kube-scheduler, kube-proxy) from the pinned release through the
# existing wrapper module tools/go/kubernetes, with exactly the flags tools/build-tools.sh uses for the control plane
# (upstream's: -trimpath, -s -w, version -X flags on component-base and client-go; CGO only for the kubelet).
#
# Output: ${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}/kubernetes-$KUBERNETES_VERSION/bin/{kubelet,kube-scheduler,kube-proxy}
# A binary already there is not rebuilt. Takes the same flock as build-tools.sh (one build at a time).
# Once issue H lands this script is replaced by appending the three names to K8S_BINARIES in tools/build-tools.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=/dev/null
. "$root/versions.env"
cache="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}"
dir="$cache/kubernetes-$KUBERNETES_VERSION/bin"
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
log() { printf 'build-node-binaries: %s\n' "$*" >&2; }

wanted=("$@"); (( ${#wanted[@]} )) || wanted=(kubelet kube-scheduler kube-proxy)
nocgo=(); cgo=()
for b in "${wanted[@]}"; do
  [[ -x "$dir/$b" ]] && { log "$b: up to date ($dir/$b)"; continue; }
  if [[ $b == kubelet ]]; then cgo+=("k8s.io/kubernetes/cmd/$b"); else nocgo+=("k8s.io/kubernetes/cmd/$b"); fi
done
(( ${#nocgo[@]} + ${#cgo[@]} )) || exit 0

grep -Eq "^[[:space:]]*(require[[:space:]]+)?k8s.io/kubernetes $KUBERNETES_VERSION( |$)" "$root/tools/go/kubernetes/go.mod" \
  || { log "tools/go/kubernetes/go.mod does not require k8s.io/kubernetes $KUBERNETES_VERSION"; exit 1; }

minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
date="$(cd "$root/tools/go" && GOFLAGS='' go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "k8s.io/kubernetes@$KUBERNETES_VERSION")"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitCommit=${KUBERNETES_GIT_COMMIT:-} -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
done

mkdir -p "$cache" "$dir"
exec 9>"$cache/.build.lock"; flock 9
tmp="$(mktemp -d "$cache/.build.XXXXXX")"; trap 'rm -rf "$tmp"' EXIT
cd "$root/tools/go/kubernetes"
if (( ${#nocgo[@]} )); then
  s=$(date +%s); log "building ${nocgo[*]##*/} (CGO_ENABLED=0)"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${nocgo[@]}"
  log "${nocgo[*]##*/} built in $(( $(date +%s) - s )) s"
fi
if (( ${#cgo[@]} )); then
  s=$(date +%s); log "building ${cgo[*]##*/} (CGO_ENABLED=1)"
  CGO_ENABLED=1 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${cgo[@]}"
  log "${cgo[*]##*/} built in $(( $(date +%s) - s )) s"
fi
for f in "$tmp"/*; do mv -f "$f" "$dir/$(basename "$f")"; done
ls -l "${wanted[@]/#/$dir/}" >&2
