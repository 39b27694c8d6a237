"""The helm-mirror (../shared/helm-mirror): a Helm chart repository standing in for prometheus-community's, which CI
cannot reach, with kube-prometheus-stack at the pinned version, unmodified. Served on loopback so the install code a
learner runs (tools/lib/kube-prometheus-stack.sh, `helm repo add` of a URL) runs unchanged in the tests."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.tiers import unavailable

REPO = Path(__file__).resolve().parents[1]


def helm_mirror() -> Path:
    """The helm-mirror folder: $BPLAB_HELM_MIRROR, ../shared/helm-mirror beside the checkout, or beside the local
    repository a CI checkout was cloned from."""
    candidates = [Path(os.environ["BPLAB_HELM_MIRROR"])] if os.environ.get("BPLAB_HELM_MIRROR") else []
    candidates.append(REPO.parent / "shared" / "helm-mirror")
    origin = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if origin.startswith("/"):
        candidates.append(Path(origin).parent / "shared" / "helm-mirror")
    found = next((folder for folder in candidates if (folder / "index.yaml").is_file()), None)
    if found is None:
        unavailable("no helm-mirror (../shared/helm-mirror): set BPLAB_HELM_MIRROR to the folder with its index.yaml")
    return found


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving_helm_mirror() -> Iterator[str]:
    """The mirror served on 127.0.0.1 at a free port, for as long as the block runs: yields its URL."""
    handler = functools.partial(QuietHandler, directory=str(helm_mirror()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
