#!/usr/bin/env bash
# Service DNS for the node: CoreDNS built from its Go module (no replaces: plain `go install`), packed as a one-layer
# image bplab/coredns:<version> into ${BPLAB_CACHE}/node/images/coredns.tar (imported by node.py at start).
# Idempotent: nothing is rebuilt when the binary and tarball are there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"   # newest on the module proxy on 2026-11-27; go.mod: client-go v0.37.1
cache="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}"
bin="$cache/coredns-$COREDNS_VERSION/bin"; out="$cache/node/images"; mkdir -p "$bin" "$out"
if [[ ! -x $bin/coredns ]]; then
  exec 9>"$cache/.build.lock"; flock 9
  s=$(date +%s)
  # CoreDNS's Makefile: CGO_ENABLED=0, -ldflags "-s -w -X .../coremain.GitCommit=..."; -trimpath added (reproducible)
  GOTOOLCHAIN=local GOBIN="$bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
  echo "build-coredns: built in $(( $(date +%s) - s )) s: $(du -h "$bin/coredns" | cut -f1)" >&2
fi
ref="docker.io/bplab/coredns:${COREDNS_VERSION#v}"
if [[ ! -s $out/coredns.tar || $bin/coredns -nt $out/coredns.tar ]]; then
  python3 "$here/pause/mkimage.py" "$bin/coredns" "$ref" "$out/coredns.tar" coredns 0:0 >/dev/null
  echo "$ref" > "$out/coredns.ref"
fi
"$bin/coredns" -version >&2
