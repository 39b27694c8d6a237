#!/usr/bin/env bash
# Stop the dockerd that start-dockerd.sh started, by the PID in its pidfile, and nothing else. Idempotent.
# Containers it runs are stopped by dockerd itself on SIGTERM (their state stays in the data root).
set -euo pipefail
# shellcheck source=../lib/wait.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/wait.sh"
# shellcheck source=../lib/pidfile.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pidfile.sh"

PIDFILE="${BPLAB_DOCKER_PIDFILE:-/run/bplab-docker.pid}"
log() { echo "stop-dockerd: $*" >&2; }

if ! pid="$(live_pid "$PIDFILE" dockerd)"; then
    log "no dockerd of ours is running (pidfile $PIDFILE)"
    exit 0
fi
log "stopping dockerd (pid $pid)"
kill -TERM "$pid"
gone() { ! kill -0 "$pid" 2>/dev/null; }
if WAIT_INTERVAL=0.5 wait_until 30 "dockerd (pid $pid) to stop" gone; then
    log "stopped"; rm -f "$PIDFILE"; exit 0
fi
log "dockerd (pid $pid) still running after 30 s; sending SIGKILL"
kill -KILL "$pid" 2>/dev/null || true
rm -f "$PIDFILE"
