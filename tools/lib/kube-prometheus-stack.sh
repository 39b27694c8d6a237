# kube-prometheus-stack as every profile installs it (kind's tools/kind/up.sh, the single node's tools/node/up.sh):
# the chart pinned in versions.env from the prometheus-community repository, deploy/kube-prometheus-stack.yaml, and
# the profile's own values file on top. BPLAB_KPS_REPO names another repository of the same chart: the tests serve
# ../shared/helm-mirror there on loopback, since CI cannot reach the real one; a learner never needs it.
# Needs $root, $HELM and versions.env's pins (the sourcing common.sh has them).
# shellcheck shell=bash

# shellcheck disable=SC2034  # used by the scripts that source this file
MONITORING_NAMESPACE=monitoring
KPS_RELEASE=kube-prometheus-stack
KPS_REPO_URL="${BPLAB_KPS_REPO:-https://prometheus-community.github.io/helm-charts}"
# The values every profile installs the stack with; a profile adds its own file on top.
KPS_VALUES="${root:?}/deploy/kube-prometheus-stack.yaml"

add_kps_repo() {
  timeout 60 "$HELM" repo add prometheus-community "$KPS_REPO_URL" --force-update >/dev/null
}

# The chart install_kube_prometheus_stack installs: the pinned version from KPS_REPO_URL, or the archive at
# KPS_CHART_FILE when that is set (make up BUNDLE=...: the bundle's copy, no repository needed).
kps_chart() {
  if [[ -n ${KPS_CHART_FILE:-} ]]; then
    KPS_CHART=("$KPS_CHART_FILE")
  else
    add_kps_repo
    KPS_CHART=(prometheus-community/kube-prometheus-stack --version "$KUBE_PROMETHEUS_STACK_VERSION")
  fi
}

# pull_kube_prometheus_stack DIR: the pinned chart's archive into DIR (make bundle); prints its path.
pull_kube_prometheus_stack() {
  add_kps_repo
  timeout 300 "$HELM" pull prometheus-community/kube-prometheus-stack --version "$KUBE_PROMETHEUS_STACK_VERSION" \
    --destination "$1" >/dev/null
  echo "$1/kube-prometheus-stack-$KUBE_PROMETHEUS_STACK_VERSION.tgz"
}

# install_kube_prometheus_stack MINUTES [VALUES_FILE...]: upgrade --install, waiting up to MINUTES for every workload
# to be ready.
install_kube_prometheus_stack() {
  local minutes="$1" values=(--values "$KPS_VALUES") file
  shift
  for file in "$@"; do values+=(--values "$file"); done
  kps_chart
  timeout "$((minutes * 60 + 60))" "$HELM" upgrade --install "$KPS_RELEASE" "${KPS_CHART[@]}" \
    --namespace "$MONITORING_NAMESPACE" --create-namespace "${values[@]}" --wait --timeout "${minutes}m" >/dev/null
}
