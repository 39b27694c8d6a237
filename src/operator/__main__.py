"""`python -m backpressure_lab.operator` / `bplab-operator`: kopf for one namespace, standalone, with liveness.

Equivalent to `kopf run -m backpressure_lab.operator.handlers --standalone --namespace $POD_NAMESPACE
--liveness $BPLAB_LIVENESS_ENDPOINT`, with the configuration checked before kopf starts (one line, exit 2).
"""

from __future__ import annotations

import logging
import os
import re
import sys

import kopf

from backpressure_lab.operator.config import DEFAULT_LIVENESS_ENDPOINT, ConfigError, OperatorConfig, watched_namespace

# kopf logs every successful handler call at INFO; for the pod watch that is a line per pod status change,
# burying the lines that matter (pushes, failures, OOM kills).
_ROUTINE = re.compile(r"^Handler .pod_became_ready. succeeded\.$")


class _DropRoutineSuccess(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _ROUTINE.match(record.getMessage())


def main() -> None:
    try:
        namespace = watched_namespace()
        OperatorConfig.from_env()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    kopf.configure(log_format=kopf.LogFormat.PLAIN)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropRoutineSuccess())
    # The liveness endpoint's access log would add a line per probe.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from backpressure_lab.operator import handlers  # noqa: F401, PLC0415 (importing registers the handlers)

    kopf.run(
        standalone=True,
        namespaces=[namespace],
        clusterwide=False,
        liveness_endpoint=os.environ.get("BPLAB_LIVENESS_ENDPOINT", "").strip() or DEFAULT_LIVENESS_ENDPOINT,
    )


if __name__ == "__main__":
    main()
