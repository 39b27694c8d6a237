# The one way a script here trusts a pidfile. A pidfile outlives its process whenever the process ends without
# removing it: a SIGKILL, an OOM kill, a machine restored from a snapshot (/run kept on disk, no process kept).
# Its PID may then be nobody's, or by now another program's.
# shellcheck shell=bash

# live_pid PIDFILE COMMAND
# Prints the PID in PIDFILE and returns 0 when a process with that PID runs COMMAND (its comm, as `ps -o comm=`
# prints it) and has not ended. Otherwise the pidfile is stale: it is removed and live_pid returns 1.
# No pidfile: returns 1.
live_pid() {
  local pidfile="$1" command="$2" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && running "$pid" "$command"; then
    echo "$pid"
    return 0
  fi
  echo "stale pidfile $pidfile: pid ${pid:-?} is not a running $command; removing it" >&2
  rm -f "$pidfile"
  return 1
}

# running PID COMMAND: whether PID is a process running COMMAND (its comm) that has not ended. A zombie (state Z)
# has ended; only its parent has not yet collected its exit status.
running() {
  local state="" comm=""
  read -r state comm < <(ps -p "$1" -o stat= -o comm= 2>/dev/null || true)
  [ "$comm" = "$2" ] && [[ "$state" != Z* ]]
}
