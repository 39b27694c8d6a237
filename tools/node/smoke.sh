#!/usr/bin/env bash
# Against a node from tools/node/start.sh, without the chart: a pod of the project's image Running and Ready, its
# ClusterIP Service answering through kube-proxy (from the host and from another pod), and a 64Mi pod OOM-killed by
# the kernel with the kubelet reporting Last State Terminated / OOMKilled and a growing restart count. Cleans its
# objects up at the end. BPLAB_IMAGE: the project's image as imported (tools/node/image.py prints it).
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
use_node
k() { kubectl "$@"; }
image="${BPLAB_IMAGE:?the project image imported into the node, e.g. backpressure-lab:<tag> from tools/node/image.py}"
manifest="$(mktemp)"; sed "s|BPLAB_IMAGE|$image|g" "$here/manifests/smoke.yaml" > "$manifest"
trap 'k delete -f "$manifest" --ignore-not-found --grace-period=1 --wait=true >/dev/null 2>&1 || true; rm -f "$manifest"' EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "== node"; k get nodes -o wide
wait_until 60 "the default ServiceAccount (the controller-manager creates it)" k get sa default -o name
s=$(ms); k apply -f "$manifest"
k wait --for=condition=Ready pod/bplab-consumer --timeout=120s
echo "consumer Ready $(( $(ms) - s )) ms after apply"
k get pods -o wide
ip="$(k get svc bplab-consumer -o jsonpath='{.spec.clusterIP}')"
echo "== ClusterIP $ip from the host (kube-proxy iptables DNAT)"; curl -sS -m 5 "http://$ip:8001/health"; echo
echo "== by Service name from another pod (CoreDNS, then kube-proxy DNAT, pod -> pod over the CNI bridge)"
k run bplab-client --image="$image" --image-pull-policy=Never --restart=Never --rm -i --quiet --command -- \
  python3 -c "import socket, urllib.request as u; print('bplab-consumer ->', socket.gethostbyname('bplab-consumer')); print(u.urlopen('http://bplab-consumer:8001/health', timeout=5).read().decode())"
echo "== waiting for the 64Mi hog to be OOM-killed twice"
killed_twice() { (( $(k get pod bplab-hog -o jsonpath='{.status.containerStatuses[0].restartCount}') >= 2 )); }
wait_until 120 "the 64Mi hog's second restart" killed_twice || true  # what follows shows where it stands
k get pod bplab-hog -o jsonpath='restartCount={.status.containerStatuses[0].restartCount} lastState={.status.containerStatuses[0].lastState.terminated.reason} exitCode={.status.containerStatuses[0].lastState.terminated.exitCode}{"\n"}'
k describe pod bplab-hog | sed -n '/Containers:/,/Conditions:/p'
k get events --field-selector involvedObject.name=bplab-hog --sort-by=.lastTimestamp | tail -8
dmesg 2>/dev/null | grep -i 'memory cgroup out of memory' | tail -2 || true
