#!/usr/bin/env bash
# The monitoring.coreos.com CRDs (ServiceMonitor, PrometheusRule, ...) of the prometheus-operator release that
# kube-prometheus-stack ships (versions.env PROMETHEUS_OPERATOR_VERSION), copied out of its Go module into
#
#   ${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}/monitoring-crds-<version>/*.yaml
#
# so the chart tests can apply them to a bare control plane. Never committed: the module proxy is the source.
#
# Usage: tools/monitoring-crds.sh              fetch if missing, print the directory
#        tools/monitoring-crds.sh --print-dir  print the directory, fetch nothing (it may not exist yet)
#        tools/monitoring-crds.sh --list       fetch if missing, print one CRD file per line
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=/dev/null
. "$root/versions.env"

module=github.com/prometheus-operator/prometheus-operator
version="$PROMETHEUS_OPERATOR_VERSION"
# The plain CRDs (example/prometheus-operator-crd-full adds the conversion webhook's fields; we run no webhook).
crd_dir_in_module=example/prometheus-operator-crd
dest="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}/monitoring-crds-$version"

log() { printf 'monitoring-crds: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$dest"
  exit 0
fi

if ! compgen -G "$dest/monitoring.coreos.com_*.yaml" >/dev/null; then
  command -v go >/dev/null || die "go not found: install Go (versions.env GO_MIN_VERSION) to fetch $module@$version"
  log "fetching $module@$version from the Go module proxy"
  # Outside any module (-mod, GOFLAGS would not apply), no toolchain download.
  json="$(cd / && GOFLAGS='' GOTOOLCHAIN=local go mod download -json "$module@$version")" \
    || die "go mod download $module@$version failed: $json"
  moddir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  [[ -n "$moddir" && -d "$moddir/$crd_dir_in_module" ]] || die "no $crd_dir_in_module in $module@$version ($moddir)"
  mkdir -p "${dest%/*}"
  tmp="$(mktemp -d "${dest%/*}/.monitoring-crds.XXXXXX")"
  # The module cache is read-only; install gives the copies ordinary permissions.
  install -m 0644 "$moddir/$crd_dir_in_module"/monitoring.coreos.com_*.yaml "$tmp/"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  log "$(find "$dest" -name '*.yaml' | wc -l) CRDs in $dest"
fi

if [[ "${1:-}" == "--list" ]]; then
  find "$dest" -maxdepth 1 -name 'monitoring.coreos.com_*.yaml' | sort
else
  echo "$dest"
fi
