#!/usr/bin/env bash
# The node's images, as docker-archive tarballs in $BPLAB_CACHE/node/images/ that tools/node/node.py imports into
# containerd's k8s.io namespace at start (nothing is ever pulled: there is no registry):
#   pause.tar     registry.k8s.io/pause:3.10.1, built here from tools/node/pause/pause.c (gcc -static); the name is
#                 containerd's sandbox_image
#   coredns.tar   bplab/coredns:<COREDNS_VERSION>, the binary `make tools` built, packed by pause/mkimage.py
#   jaeger.tar    jaegertracing/jaeger:<JAEGER_IMAGE_TAG> (the chart's), the binary `make tools` built, packed likewise
#   prometheus.tar, operator.tar, prometheus-config-reloader.tar, kube-state-metrics.tar: kube-prometheus-stack's
#                 images (common.sh monitoring_images), the binaries `make tools` built, packed likewise
#   <image>.tar   `docker save` of each IMAGE given (the project's image), from the daemon at $DOCKER_HOST; the project's
#                 tarballs of other tags are removed, so only the current one is imported
# Idempotent: a tarball is kept while its source is unchanged (binary not newer, image id the same).
# Usage: DOCKER_HOST=... [BPLAB_DOCKER=/usr/bin/docker] tools/node/images.sh [IMAGE ...]
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
out="$cache/node/images"; mkdir -p "$out"
log() { echo "node-images: $*" >&2; }

pack() {  # binary ref tarball name user: a one-layer image of one static binary, when the binary is newer
  local bin="$1" ref="$2" tar="$3"
  [[ -x $bin ]] || die "$bin missing: run \`make tools\`"
  if [[ ! -s $tar || $bin -nt $tar || "$(cat "${tar%.tar}.ref" 2>/dev/null)" != "$ref" ]]; then
    "$PYTHON" "$here/pause/mkimage.py" "$bin" "$ref" "$tar" "$4" "$5" >/dev/null
    echo "$ref" > "${tar%.tar}.ref"
    log "$ref: $(du -h "$tar" | cut -f1) -> $tar"
  fi
}

if [[ ! -s $out/pause.tar || $here/pause/pause.c -nt $out/pause.tar ]]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  gcc -static -Os -o "$tmp/pause" "$here/pause/pause.c"; strip "$tmp/pause"
  pack "$tmp/pause" registry.k8s.io/pause:3.10.1 "$out/pause.tar" pause 65535:65535
fi
pack "$cache/coredns-$COREDNS_VERSION/bin/coredns" "docker.io/bplab/coredns:${COREDNS_VERSION#v}" "$out/coredns.tar" coredns 0:0
pack "$cache/jaeger-$JAEGER_VERSION/bin/jaeger" "docker.io/jaegertracing/jaeger:$JAEGER_IMAGE_TAG" "$out/jaeger.tar" jaeger 10001:10001
while read -r binary path ref user; do
  pack "$(tool_dir "${binary%%:*}")/${binary#*:}" "$ref" "$out/${binary#*:}.tar" "$path" "$user"
done < <(monitoring_images)

(( $# )) || exit 0
[[ -n ${DOCKER_HOST:-} ]] || die "DOCKER_HOST is not set: the project's image is saved from that Docker daemon"
docker="${BPLAB_DOCKER:-docker}"
keep=()
for img in "$@"; do
  name="${img//[:\/]/_}"; keep+=("$name.tar")
  id="$("$docker" image inspect -f '{{.Id}}' "$img" 2>/dev/null)" || die "$img is not in the Docker daemon at $DOCKER_HOST"
  if [[ -s $out/$name.tar && "$(cat "$out/$name.id" 2>/dev/null)" == "$id" ]]; then log "$img: up to date"; continue; fi
  start=$(date +%s)
  "$docker" save -o "$out/$name.tar.tmp" "$img" && mv "$out/$name.tar.tmp" "$out/$name.tar"
  echo "$id" > "$out/$name.id"
  # containerd normalizes a short name to docker.io/library/<name>; that is what the kubelet asks for too
  case "$img" in */*/*|*.*/*) ref="$img" ;; */*) ref="docker.io/$img" ;; *) ref="docker.io/library/$img" ;; esac
  echo "$ref" > "$out/$name.ref"
  log "$img ($id): saved $(du -h "$out/$name.tar" | cut -f1) in $(( $(date +%s) - start )) s"
done
for tar in "$out"/backpressure-lab_*.tar; do
  [[ -e $tar && " ${keep[*]} " != *" $(basename "$tar") "* ]] || continue
  rm -f "$tar" "${tar%.tar}.ref" "${tar%.tar}.id"; log "removed $(basename "$tar") (another tag)"
done
