#!/usr/bin/env bash
# Stop the dockerd that start-dockerd.sh started, by the PID in its pidfile, and nothing else. Idempotent.
# Containers it runs are stopped by dockerd itself on SIGTERM (their state stays in the data root).
set -euo pipefail
# shellcheck source=../lib/wait.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/wait.sh"
# shellcheck source=../lib/pidfile.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pidfile.sh"
# shellcheck source=dockerd-paths.sh
. "$(dirname "${BASH_SOURCE[0]}")/dockerd-paths.sh"

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
log() { echo "stop-dockerd: $*" >&2; }

if pid="$(live_pid "$PIDFILE" dockerd)"; then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    gone() { ! running "$pid" dockerd; }
    if WAIT_INTERVAL=0.5 wait_until 30 "dockerd (pid $pid) to stop" gone; then
        log "stopped"
    else
        log "dockerd (pid $pid) still running after 30 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
else
    log "no dockerd of ours is running (pidfile $PIDFILE)"
fi
# dockerd bind-mounts its data root onto itself and undoes it only on a clean shutdown of the daemon that made the
# mount; after a SIGKILL or an OOM kill it stays mounted and nothing can delete the folder.
if mountpoint -q "$DATA_ROOT"; then
    log "unmounting $DATA_ROOT, left mounted by a dockerd that did not shut down cleanly"
    umount --recursive "$DATA_ROOT"
fi
