#!/usr/bin/env bash
# `make down CLUSTER=node`: stop the single node and everything in it (pods, components, network, cgroups, iptables
# rules; tools/node/stop.sh). Images stay imported and the PKI/config in $BPLAB_NODE_DIR stays for the next start.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[[ $(id -u) == 0 ]] || die "the local cluster needs root: run as root"
step "stopping the local node"
start=$(date +%s)
"$here/stop.sh" 2>&1 | tail -1
echo "stopped in $(( $(date +%s) - start )) s"
