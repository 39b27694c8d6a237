"""Build the lab's image with Docker and hand it to the single node; prints the image (`backpressure-lab:<id>`).

    python3 tools/node/image.py

The build is the containers tier's (tests/containers/lab.py): a docker CLI that can do a BuildKit build, the daemon
at $DOCKER_HOST or one started by tools/docker/start-dockerd.sh (and stopped again here if this started it), the base
image synthesized when no registry serves it, the CA bundle handed to pip as the `pip_ca` build secret. The tag is the
image id's first 12 hex digits, never :latest: a changed image gets a new tag (so `helm upgrade` rolls the pods) and
an unchanged one keeps its tag. tools/node/images.sh then saves it where node.py imports it from.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.containers import lab  # noqa: E402

REPOSITORY = "backpressure-lab"
CONTENT_TAG = re.compile(r"^[0-9a-f]{12}$")


def build_and_save() -> str:
    cli = lab.pick_cli()
    if cli is None:
        raise SystemExit("no docker CLI that can do a BuildKit build (buildx, or Debian's docker.io 20.10): "
                         "apt-get install -y docker.io")  # fmt: skip
    try:
        host, started = lab.start_daemon()
    except lab.DockerError as error:
        raise SystemExit(f"no Docker daemon: {error}") from None
    try:
        docker = lab.Docker(cli, host)
        lab.ensure_base_image(docker)
        result = lab.build_image(docker, f"{REPOSITORY}:local")
        image_id = docker.cli("image", "inspect", "--format", "{{.Id}}", result.image).stdout.strip()
        image = f"{REPOSITORY}:{image_id.removeprefix('sha256:')[:12]}"
        docker.cli("tag", image_id, image)
        print(f"image: {image}, built in {result.seconds:.1f} s (cache as found)", file=sys.stderr)
        # Older content tags only hold space in the daemon; untag them (layers still in use stay).
        listed = docker.cli("image", "ls", REPOSITORY, "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        old = [ref for ref in listed if CONTENT_TAG.match(ref.split(":", 1)[1]) and ref != image]
        if old:
            docker.cli("image", "rm", *old, check=False)
        subprocess.run(
            ["bash", str(REPO / "tools" / "node" / "images.sh"), image],
            env={**docker.env(), "BPLAB_DOCKER": cli},
            stdout=sys.stderr,  # stdout carries only the image name
            check=True,
        )
        return image
    finally:
        if started:
            lab.stop_daemon()


def main() -> None:
    try:
        print(build_and_save())
    except lab.DockerError as error:
        raise SystemExit(f"image build failed: {error}") from None
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"tools/node/images.sh failed ({error.returncode})") from None


if __name__ == "__main__":
    main()
