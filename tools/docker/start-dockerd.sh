#!/usr/bin/env bash
# Start Debian's dockerd for the lab, unless a Docker daemon is already reachable. Idempotent.
#
# Prints one line on stdout: the DOCKER_HOST to use (e.g. `export DOCKER_HOST=$(tools/docker/start-dockerd.sh)`).
# Everything else goes to stderr. A daemon this script starts is ours alone: its own socket, data root, exec root and
# pidfile, so stop-dockerd.sh can stop exactly it (by PID) and nothing else.
#
#   BPLAB_CACHE            cache root (default: $HOME/.cache/backpressure-lab); data root is $BPLAB_CACHE/docker/data
#   BPLAB_DOCKER_SOCK      socket path           (default: /run/bplab-docker.sock)
#   BPLAB_DOCKER_EXEC_ROOT exec root             (default: /run/bplab-docker; kept short: unix socket paths are <108 B)
#   BPLAB_DOCKER_PIDFILE   pidfile               (default: /run/bplab-docker.pid)
#   BPLAB_DOCKER_REUSE=0   do not reuse an already running daemon found via $DOCKER_HOST or /var/run/docker.sock
#   BPLAB_DOCKER_NETNS     run dockerd in this network namespace (`ip netns add` it first): a second daemon beside the
#                          first then has a docker0 and NAT rules of its own. (Not --bridge=none: that makes dockerd
#                          delete the host's docker0, which the first daemon's containers need.)
#
# Needs root and Debian's docker.io (dockerd, containerd, runc, docker-proxy, tini) plus iptables.
set -euo pipefail
# shellcheck source=../lib/wait.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/wait.sh"
# shellcheck source=../lib/pidfile.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pidfile.sh"

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
# shellcheck source=dockerd-paths.sh
. "$(dirname "${BASH_SOURCE[0]}")/dockerd-paths.sh"

log() { echo "start-dockerd: $*" >&2; }

# The docker CLI only pings the daemon here; any version of it will do.
DOCKER_CLI="$(command -v docker || true)"
ping_daemon() {  # $1 = DOCKER_HOST
    [ -n "$DOCKER_CLI" ] || return 1
    DOCKER_HOST="$1" timeout 10 "$DOCKER_CLI" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if [ "${BPLAB_DOCKER_REUSE:-1}" != 0 ]; then
    for host in "${DOCKER_HOST:-}" "unix://$SOCK" "unix:///var/run/docker.sock"; do
        [ -n "$host" ] || continue
        if ping_daemon "$host"; then
            log "a daemon already answers on $host; reusing it"
            echo "$host"
            exit 0
        fi
    done
fi

launch() {
    [ "$(id -u)" = 0 ] || { log "dockerd needs root"; exit 1; }
    command -v dockerd >/dev/null || { log "dockerd not found: apt-get install -y docker.io"; exit 1; }
    command -v iptables >/dev/null || { log "iptables not found: apt-get install -y iptables"; exit 1; }
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$LOG")"
    rm -f "$SOCK"
    # dockerd adopts the containerd its last run left, by this pidfile, if that PID is alive at all: a stale one
    # whose PID now belongs to another program makes it wait on a containerd that is not there.
    live_pid "$EXEC_ROOT/containerd/containerd.pid" containerd >/dev/null || true
    log "starting dockerd: data root $DATA_ROOT, socket unix://$SOCK, log $LOG"
    # setsid: the daemon outlives this shell and its job control; dockerd writes its own pidfile, which is the truth
    # about its PID (the PID of a backgrounded command can be a wrapper shell).
    local in_netns=()
    # nsenter enters only the network namespace; `ip netns exec` would also mount a fresh /sys, hiding the cgroups.
    [ -z "${BPLAB_DOCKER_NETNS:-}" ] || in_netns=(nsenter "--net=/run/netns/$BPLAB_DOCKER_NETNS")
    setsid "${in_netns[@]}" dockerd \
        --host "unix://$SOCK" \
        --data-root "$DATA_ROOT" \
        --exec-root "$EXEC_ROOT" \
        --pidfile "$PIDFILE" \
        --storage-driver overlay2 \
        --exec-opt native.cgroupdriver=cgroupfs \
        --log-level warn \
        </dev/null >>"$LOG" 2>&1 &
}

wait_ready() {
    if WAIT_INTERVAL=0.5 wait_until 60 "dockerd to answer on unix://$SOCK" ping_daemon "unix://$SOCK"; then
        log "dockerd (pid $(cat "$PIDFILE" 2>/dev/null || echo '?')) is ready"
        echo "unix://$SOCK"
        exit 0
    fi
}

if pid="$(live_pid "$PIDFILE" dockerd)"; then
    log "dockerd (pid $pid) from $PIDFILE is running but does not answer on unix://$SOCK yet; waiting"
else
    launch
fi
wait_ready
# A dockerd killed while it created a network can leave that network half-written in its store; every later start
# then panics in libnetwork's reservePools (docker.io 20.10). The store holds only our test networks: drop it, once.
if tail -n 60 "$LOG" | grep -q "reservePools"; then
    log "dockerd panicked on a half-written network in its store; moving $DATA_ROOT/network aside and starting again"
    rm -rf "$DATA_ROOT/network.broken" && mv "$DATA_ROOT/network" "$DATA_ROOT/network.broken"
    rm -f "$PIDFILE"
    launch
    wait_ready
fi
log "dockerd did not answer on unix://$SOCK within 60 s; last lines of $LOG:"
tail -n 30 "$LOG" >&2 || true
exit 1
