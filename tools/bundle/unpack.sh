#!/usr/bin/env bash
# The loading side of a bundle (tools/bundle/pack.sh wrote it): `make up BUNDLE=path` sources this file and calls
# open_bundle before it creates the cluster; run on its own, it verifies a bundle and loads it into Docker, which is
# how an instructor checks a copy (tools/bundle/unpack.sh path).
#
# open_bundle PATH refuses, in one line and before it loads anything, a bundle that is not whole (SHA256SUMS), made
# for another OS or CPU, or made from other pins or another lab image than this checkout's. Then it installs kind,
# kubectl and helm into the tool cache where `make tools` would build them (a tool already there is kept), loads every
# image into Docker and checks each id against the bundle's record, and sets for make up:
#   KIND_NODE_IMAGE  the node image by the name:tag it was loaded under (kind then finds it in Docker, no pull)
#   BUNDLE_IMAGES    every other image, for `kind load docker-image`
#   BUNDLE_LAB_IMAGE the lab's image (make up does not build it)
#   KPS_CHART_FILE   kube-prometheus-stack's archive, kept in the tool cache (installed without a repository)
# shellcheck source=../kind/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../kind/common.sh"

bundle_field() { sed -n "s/^$1=//p" "$2/bundle.env"; }

open_bundle() {
  local bundle="$1" cache="${BPLAB_CACHE:-$HOME/.cache/backpressure-lab}" dir want got name id file
  [[ -f $bundle ]] || die "BUNDLE=$bundle: no such file (make bundle writes one)"
  mkdir -p "$cache"
  dir="$(mktemp -d "$cache/.bundle.XXXXXX")"
  # shellcheck disable=SC2064  # the directory is known now, and only this one is to go
  trap "rm -rf '$dir'" EXIT
  tar -C "$dir" -xf "$bundle" 2>/dev/null || die "BUNDLE=$bundle is not a tar archive (or the disk is full): make bundle writes one"
  [[ -s $dir/SHA256SUMS && -s $dir/bundle.env && -s $dir/images.tsv ]] \
    || die "BUNDLE=$bundle is not a backpressure-lab bundle (no SHA256SUMS, bundle.env or images.tsv in it)"
  if ! (cd "$dir" && sha256sum --quiet -c SHA256SUMS >"$dir/.check" 2>&1); then
    die "BUNDLE=$bundle is damaged ($(grep -m1 -v '^sha256sum:' "$dir/.check" || head -n1 "$dir/.check")): copy it again"
  fi
  want="$(uname -s)/$(uname -m)"; got="$(bundle_field TOOLS_PLATFORM "$dir")"
  [[ $got == "$want" ]] || die "BUNDLE=$bundle holds tools for $got, this machine is $want: make the bundle on a machine like the learners'"
  want="$(docker info -f '{{.OSType}}/{{.Architecture}}')"; got="$(bundle_field IMAGES_PLATFORM "$dir")"
  [[ $got == "$want" ]] || die "BUNDLE=$bundle holds $got images, this Docker runs $want: make the bundle on a machine like the learners'"
  cmp -s "$dir/versions.env" "$root/versions.env" \
    || die "BUNDLE=$bundle was made with other pins than this checkout's versions.env: check out its commit $(bundle_field BUNDLE_COMMIT "$dir"), or make bundle from this one"
  want="backpressure-lab:$(image_tag)"; got="$(bundle_field LAB_IMAGE "$dir")"
  [[ $got == "$want" ]] \
    || die "BUNDLE=$bundle carries the lab image $got, this checkout builds $want: check out its commit $(bundle_field BUNDLE_COMMIT "$dir"), or make bundle from this one"

  local component binary
  for component in kind:kind kubernetes:kubectl helm:helm; do
    binary="$(tool_dir "${component%%:*}")/${component#*:}"
    [[ -x $binary ]] || install -D -m 0755 "$dir/bin/${component#*:}" "$binary"
  done
  mkdir -p "$cache/charts"
  KPS_CHART_FILE="$cache/charts/$(basename "$(bundle_field KPS_CHART "$dir")")"
  cp "$dir/$(bundle_field KPS_CHART "$dir")" "$KPS_CHART_FILE"

  KIND_NODE_IMAGE="$(bundle_field NODE_IMAGE "$dir")"
  BUNDLE_LAB_IMAGE="$(bundle_field LAB_IMAGE "$dir")"
  BUNDLE_IMAGES=()
  while IFS=$'\t' read -r name id file; do
    timeout 900 docker load -q -i "$dir/$file" >/dev/null || die "docker load of $file (from BUNDLE=$bundle) failed"
    got="$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null)" || die "$file did not load as $name"
    [[ $got == "$id" ]] || die "$name loaded as $got, but the bundle recorded $id"
    [[ $name == "$KIND_NODE_IMAGE" ]] || BUNDLE_IMAGES+=("$name")
  done <"$dir/images.tsv"
  step "loaded $(wc -l <"$dir/images.tsv") images from $bundle into Docker"
  rm -rf "$dir"
  trap - EXIT
  export KIND_NODE_IMAGE KPS_CHART_FILE BUNDLE_LAB_IMAGE
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  [[ $# == 1 ]] || die "usage: tools/bundle/unpack.sh BUNDLE.tar"
  require_docker
  open_bundle "$1"
  printf '%s\n' "$KIND_NODE_IMAGE" "${BUNDLE_IMAGES[@]}"
fi
