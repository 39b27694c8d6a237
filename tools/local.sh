#!/usr/bin/env bash
# `make local`: the producer on :8000 and the consumer on :8001 on localhost, as in the original lab. Ctrl-C (or
# SIGTERM) stops both and exits 0, so make prints no error line. Usage: tools/local.sh PYTHON
# PRODUCER_PORT and CONSUMER_PORT (default 8000 and 8001, the original's) move them.
set -euo pipefail
python="${1:?usage: tools/local.sh PYTHON}"
producer_port="${PRODUCER_PORT:-8000}"
consumer_port="${CONSUMER_PORT:-8001}"
BPLAB_PORT="$consumer_port" "$python" -m backpressure_lab.consumer &
consumer=$!
BPLAB_PORT="$producer_port" BPLAB_CONSUMER_URL="http://localhost:$consumer_port" "$python" -m backpressure_lab.producer &
producer=$!
stop() {  # exit code
  trap - INT TERM
  kill -TERM "$producer" "$consumer" 2>/dev/null || true
  wait "$producer" "$consumer" 2>/dev/null || true
  echo "stopped the producer and the consumer"
  exit "$1"
}
trap 'stop 0' INT TERM
echo "producer http://localhost:$producer_port  consumer http://localhost:$consumer_port  (Ctrl-C stops both)"
echo "bplab: $(dirname "$python")/bplab status   (or: source $(dirname "$python")/activate; bplab status)"
# Either service ending on its own (a taken port, say) ends the lab with its message above, and a non-zero exit.
code=0
wait -n "$producer" "$consumer" || code=$?
echo "a service of the lab exited (status $code); see its message above" >&2
stop 1
