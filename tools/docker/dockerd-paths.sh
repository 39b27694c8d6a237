# Where the lab's own dockerd keeps its socket, state, pidfile, data and log: declared once for start-dockerd.sh and
# stop-dockerd.sh (start-dockerd.sh's header lists the variables that move them).
# shellcheck shell=bash disable=SC2034  # used by the scripts that source this file
CACHE="${BPLAB_CACHE:-${HOME:-/root}/.cache/backpressure-lab}"
SOCK="${BPLAB_DOCKER_SOCK:-/run/bplab-docker.sock}"
EXEC_ROOT="${BPLAB_DOCKER_EXEC_ROOT:-/run/bplab-docker}"
PIDFILE="${BPLAB_DOCKER_PIDFILE:-/run/bplab-docker.pid}"
DATA_ROOT="$CACHE/docker/data"
LOG="$CACHE/docker/dockerd.log"
