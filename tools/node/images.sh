#!/usr/bin/env bash
# Images for the node, as tarballs in ${BPLAB_CACHE}/node/images/ that tools/node/node.py imports into containerd's
# k8s.io namespace (`ctr images import`) at start:
#   pause.tar               registry.k8s.io/pause:3.10.1, built here from tools/node/pause/pause.c (gcc -static);
#                           the name is the sandbox_image containerd is configured with (no registry to pull it from)
#   backpressure-lab_<tag>.tar   `docker save` of the project's image (default backpressure-lab:dev), when Docker has it
# Idempotent: a tarball already there is kept unless its source changed (pause.c newer, image id different).
# Usage: tools/node/images.sh [IMAGE ...]     (default: backpressure-lab:dev)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$(cd "$here/../.." && pwd)"
cache="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}"
out="$cache/node/images"; mkdir -p "$out"
log() { echo "node-images: $*" >&2; }

# --- pause ---
if [[ ! -s $out/pause.tar || $here/pause/pause.c -nt $out/pause.tar ]]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  gcc -static -Os -o "$tmp/pause" "$here/pause/pause.c"; strip "$tmp/pause"
  python3 "$here/pause/mkimage.py" "$tmp/pause" registry.k8s.io/pause:3.10.1 "$out/pause.tar" >/dev/null
  echo registry.k8s.io/pause:3.10.1 > "$out/pause.ref"
  log "pause image: $(stat -c %s "$out/pause.tar") bytes -> $out/pause.tar"
fi

# --- jaeger: the chart's jaegertracing/jaeger:<JAEGER_IMAGE_TAG>, from the binary tools/build-tools.sh jaeger built ---
. "$root/versions.env"
jaeger_bin="$cache/jaeger-$JAEGER_VERSION/bin/jaeger"
if [[ -x $jaeger_bin && ( ! -s $out/jaeger.tar || $jaeger_bin -nt $out/jaeger.tar ) ]]; then
  python3 "$here/pause/mkimage.py" "$jaeger_bin" "docker.io/jaegertracing/jaeger:$JAEGER_IMAGE_TAG" "$out/jaeger.tar" jaeger 10001:10001 >/dev/null
  echo "docker.io/jaegertracing/jaeger:$JAEGER_IMAGE_TAG" > "$out/jaeger.ref"
  log "jaeger image: $(du -h "$out/jaeger.tar" | cut -f1) -> $out/jaeger.tar"
fi

# --- the project's image(s), from Docker ---
images=("$@"); (( ${#images[@]} )) || images=(backpressure-lab:dev)
started_docker=0
if [[ -z ${DOCKER_HOST:-} ]]; then
  if ! [[ -S /run/bplab-docker.sock ]] || ! /usr/bin/docker -H unix:///run/bplab-docker.sock version >/dev/null 2>&1; then started_docker=1; fi
  DOCKER_HOST="$("$root/tools/docker/start-dockerd.sh")"; export DOCKER_HOST
fi
docker="${BPLAB_DOCKER:-/usr/bin/docker}"
for img in "${images[@]}"; do
  name="${img//[:\/]/_}"
  id="$("$docker" image inspect -f '{{.Id}}' "$img" 2>/dev/null)" || { log "$img: not in Docker (build it: see docs/containers.md); skipped"; continue; }
  if [[ -s $out/$name.tar && "$(cat "$out/$name.id" 2>/dev/null)" == "$id" ]]; then log "$img: up to date"; continue; fi
  s=$(date +%s.%N)
  "$docker" save -o "$out/$name.tar.tmp" "$img" && mv "$out/$name.tar.tmp" "$out/$name.tar"
  echo "$id" > "$out/$name.id"
  # containerd normalizes a short name to docker.io/library/<name>; that is what the kubelet asks for too
  case "$img" in */*/*|*.*/*) ref="$img" ;; */*) ref="docker.io/$img" ;; *) ref="docker.io/library/$img" ;; esac
  echo "$ref" > "$out/$name.ref"
  log "$img ($id): saved $(du -h "$out/$name.tar" | cut -f1) in $(echo "$(date +%s.%N) - $s" | bc) s"
done
if (( started_docker )); then "$root/tools/docker/stop-dockerd.sh" >&2 || true; fi
