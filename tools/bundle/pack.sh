#!/usr/bin/env bash
# `make bundle`: one archive with everything `make up` downloads, so that a room without internet (or with thirty
# laptops on one uplink) runs `make up BUNDLE=that-file` and pulls nothing (kind's offline route: docker load, kind
# load, helm install from files). The archive holds:
#   images/*.tar  `docker save` of every image the cluster runs: kind's node image (KIND_NODE_IMAGE), the lab's image
#                 as make up builds it, and every image the lab's chart and kube-prometheus-stack name when rendered
#                 with make up's values (tools/bundle/images.py reads them off the rendered manifests)
#   charts/       kube-prometheus-stack at its pin (helm pull)
#   bin/          kind, kubectl and helm at their pins, built for this machine's OS and CPU
#   images.tsv    one line per image: the reference make up uses, its image id, its file
#   bundle.env    the commit, the lab's image, the node image, the platforms; versions.env (the pins) beside it
#   SHA256SUMS    every file's checksum: tools/bundle/unpack.sh refuses a bundle that does not match it
# Images Docker does not have are pulled (the one step that needs the internet); nothing else is fetched but the chart.
# Usage: tools/bundle/pack.sh OUT.tar   (BPLAB_KPS_REPO: another repository of the chart; the tests' mirror)
# shellcheck source=../kind/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../kind/common.sh"
out="${1:-}"
[[ -n $out ]] || die "usage: tools/bundle/pack.sh OUT.tar"
[[ -d "$(dirname "$out")" ]] || die "the directory of $out does not exist"
PYTHON="${PYTHON:-$root/.venv/bin/python}"

step "checking Docker and the pinned tools"
require_docker
pinned_tools
work="$(mktemp -d "$(dirname "$out")/.bundle.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/images" "$work/charts" "$work/bin"

step "building the lab's image"
lab_image="$(build_lab_image)"
step "fetching kube-prometheus-stack $KUBE_PROMETHEUS_STACK_VERSION"
chart="$(pull_kube_prometheus_stack "$work/charts")"

step "listing the images the cluster runs"
lab_chart_args "${lab_image#*:}"
# make up installs the lab after the stack, whose CRDs its ServiceMonitor and PrometheusRule need: say they are served.
timeout 120 "$HELM" template "$RELEASE" "$root/charts/backpressure-lab" --namespace "$NAMESPACE" "${LAB_CHART_ARGS[@]}" \
  --api-versions monitoring.coreos.com/v1/ServiceMonitor --api-versions monitoring.coreos.com/v1/PrometheusRule \
  >"$work/lab.yaml" 2>"$work/render.err" || die "cannot render the lab's chart: $(head -n 1 "$work/render.err")"
timeout 120 "$HELM" template "$KPS_RELEASE" "$chart" --namespace "$MONITORING_NAMESPACE" --values "$KPS_VALUES" \
  >"$work/kps.yaml" 2>"$work/render.err" || die "cannot render kube-prometheus-stack: $(head -n 1 "$work/render.err")"
images="$(cat "$work/lab.yaml" - "$work/kps.yaml" <<<"---" | "$PYTHON" "$root/tools/bundle/images.py")" \
  || die "cannot list the images of the rendered charts"
rm "$work/lab.yaml" "$work/kps.yaml" "$work/render.err"

# save REF: the image into images/, pulled first when Docker lacks it. A reference pinned by digest is pulled by that
# digest and saved under its name:tag (what kind asks Docker for); its id is what unpack.sh checks after loading.
save() {
  local ref="$1" name="${1%@*}" file id
  if ! docker image inspect "$ref" >/dev/null 2>&1; then
    step "pulling $ref"
    timeout 900 docker pull -q "$ref" >/dev/null 2>"$work/pull.err" \
      || die "cannot pull $ref ($(tail -n 1 "$work/pull.err")): make bundle pulls what Docker lacks, so it needs the internet"
  fi
  [[ $name == "$ref" ]] || docker tag "$ref" "$name"
  id="$(docker image inspect -f '{{.Id}}' "$name")"
  file="images/$(tr ':/@' '___' <<<"$name").tar"
  timeout 900 docker save -o "$work/$file" "$name" || die "docker save $name failed"
  printf '%s\t%s\t%s\n' "$name" "$id" "$file" >>"$work/images.tsv"
}
for ref in "$KIND_NODE_IMAGE" $images; do save "$ref"; done

step "adding kind, kubectl and helm"
cp "$KIND" "$KUBECTL" "$HELM" "$work/bin/"
cp "$root/versions.env" "$work/versions.env"
cat >"$work/bundle.env" <<ENV
BUNDLE_COMMIT=$(git -C "$root" rev-parse HEAD)
LAB_IMAGE=$lab_image
NODE_IMAGE=${KIND_NODE_IMAGE%@*}
KPS_CHART=charts/$(basename "$chart")
TOOLS_PLATFORM=$(uname -s)/$(uname -m)
IMAGES_PLATFORM=$(docker info -f '{{.OSType}}/{{.Architecture}}')
ENV
(cd "$work" && find . -type f -printf '%P\n' | sort | xargs sha256sum >"$work.sums" && mv "$work.sums" SHA256SUMS)
tar -C "$work" -cf "$out.tmp" . && mv "$out.tmp" "$out"
step "wrote $out: $(wc -l <"$work/images.tsv") images, $(du -h "$out" | cut -f1); copy it to each laptop and run make up BUNDLE=$(basename "$out")"
