#!/usr/bin/env bash
# `make down`: removes the kind cluster and everything in it.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_docker
pinned_tools
if cluster_exists; then
  step "deleting kind cluster '$CLUSTER'"
  timeout 300 "$KIND" delete cluster --name "$CLUSTER" >/dev/null
else
  step "no kind cluster '$CLUSTER': nothing to remove"
fi
