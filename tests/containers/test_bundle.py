"""`make bundle` and `make up BUNDLE=` (issue O, the class of thirty): the instructor's Docker (this tier's daemon)
packs every image, the chart and the tools into one archive with tools/bundle/pack.sh; a learner's fresh Docker daemon,
with an empty tool cache, loads it with tools/bundle/unpack.sh, the step `make up BUNDLE=` runs before kind creates the
cluster. Pulling cannot run here (no registry): the images this machine builds (the lab's, Jaeger, Prometheus,
prometheus-operator and its reloader, kube-state-metrics) are the real ones, the rest are ImageStandIns under the exact
names. kind's cluster itself needs Docker and the internet (tests/kind)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from tests.chart.helm import Helm, render_stack
from tests.containers import lab
from tests.containers.bundle import extract, learners_docker, load_image_stand_in, read_env, repack
from tests.containers.conftest import FIGURES
from tests.controlplane.cluster import read_versions
from tests.helm_mirror import serving_helm_mirror
from tests.tiers import require
from tests.tool_cache import cached_binary
from tools.bundle.images import images

ROOT = lab.ROOT
VERSIONS = read_versions()
NODE_IMAGE = VERSIONS["KIND_NODE_IMAGE"].split("@")[0]
KPS_CHART = f"kube-prometheus-stack-{VERSIONS['KUBE_PROMETHEUS_STACK_VERSION']}.tgz"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
TOOLS = {
    "kind": cached_binary("kind", "KIND_VERSION"),
    "kubectl": cached_binary("kubernetes", "KUBERNETES_VERSION", "kubectl"),
    "helm": cached_binary("helm", "HELM_VERSION"),
}


@functools.cache
def lab_image() -> str:
    tag = subprocess.run(["bash", "-c", ". tools/kind/common.sh && image_tag"], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60).stdout.strip()  # fmt: skip
    return f"backpressure-lab:{tag}"


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """A refusal is a non-zero exit whose stderr is one line beginning `error: ` (no traceback, no helm noise)."""
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, str]:
    home = tmp_path_factory.mktemp("helm")
    return {"HELM_CONFIG_HOME": str(home / "config"), "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_DATA_HOME": str(home / "data")}  # fmt: skip


@pytest.fixture(scope="module")
def mirror_url() -> Iterator[str]:
    with serving_helm_mirror() as url:
        yield url


@pytest.fixture(scope="module")
def expected_images(mirror_url: str, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What kind's cluster runs, found independently of pack.sh: the lab's two images as its values name them, and
    kube-prometheus-stack rendered from the repository with make up's values."""
    for name, binary in TOOLS.items():
        require(binary.is_file(), f"{name} is not built: run `make tools`")
    helm = Helm(TOOLS["helm"], tmp_path_factory.mktemp("render"))
    stack = images(render_stack(helm, mirror_url, ROOT / "deploy" / "kube-prometheus-stack.yaml"))
    return {lab_image(), f"jaegertracing/jaeger:{VERSIONS['JAEGER_IMAGE_TAG']}", *stack}


@pytest.fixture(scope="module")
def instructors_docker(
    docker: lab.Docker, image: lab.BuildResult, expected_images: set[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[lab.Docker]:
    """The tier's daemon with every image the bundle carries: those this machine builds as tools/node/images.sh packs
    them, ImageStandIns for the rest and for kind's node image (by its pinned name:tag, without the digest)."""
    subprocess.run(["bash", "tools/node/images.sh"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    packed = Path(os.environ.get("BPLAB_CACHE", Path.home() / ".cache" / "backpressure-lab")) / "node" / "images"
    real = []
    for ref_file in packed.glob("*.ref"):
        ref = ref_file.read_text().strip().removeprefix("docker.io/")
        if ref in expected_images:
            docker.cli("load", "-q", "-i", str(ref_file.with_suffix(".tar")), timeout=600)
            real.append(ref)
    workdir = tmp_path_factory.mktemp("stand-ins")
    stand_ins = sorted({*expected_images, NODE_IMAGE} - {*real, lab_image()})
    for ref in stand_ins:
        load_image_stand_in(docker, ref, workdir)
    FIGURES["bundle images"] = f"real: {', '.join(sorted(real))} and the lab's; stand-ins: {', '.join(stand_ins)}"
    try:
        yield docker
    finally:
        docker.cli("rmi", *stand_ins, check=False)


def with_docker_cli(docker: lab.Docker, tmp_path: Path) -> dict[str, str]:
    """The tier's environment for this daemon, with its docker CLI (the one that builds with BuildKit) first on PATH:
    the scripts call `docker`, as a learner's shell does."""
    bin_dir = tmp_path / "docker-cli"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "docker").exists():
        (bin_dir / "docker").symlink_to(docker.binary)
    env = docker.env()
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}"}


def pack(
    docker: lab.Docker, out: Path, helm_home: Mapping[str, str], mirror_url: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "tools/bundle/pack.sh", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False,
        env={**with_docker_cli(docker, out.parent.parent), **helm_home, "BPLAB_KPS_REPO": mirror_url,
             "PYTHON": str(VENV_PYTHON), **env},
    )  # fmt: skip


def test_make_bundle_will_not_take_a_node_image_of_the_pinned_tag_but_another_digest(
    instructors_docker: lab.Docker, helm_home: Mapping[str, str], mirror_url: str, tmp_path: Path
) -> None:
    """kind's node image is pinned by digest: an image that only has its name:tag (here the stand-in) is pulled by
    the digest, which fails here in one line, and no bundle is written."""
    proc = pack(instructors_docker, tmp_path / "b.tar", helm_home, mirror_url)
    assert f"cannot pull {VERSIONS['KIND_NODE_IMAGE']}" in one_error_line(proc)
    assert "needs the internet" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def bundle(
    instructors_docker: lab.Docker,
    helm_home: Mapping[str, str],
    mirror_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("bundle") / "backpressure-lab-bundle.tar"
    proc = pack(instructors_docker, out, helm_home, mirror_url, BPLAB_KIND_NODE_IMAGE=NODE_IMAGE)
    assert proc.returncode == 0, proc.stderr
    FIGURES["bundle"] = proc.stdout.strip().splitlines()[-1]
    yield out
    shutil.rmtree(out.parent)


@pytest.fixture(scope="module")
def parts(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield extract(bundle, folder := tmp_path_factory.mktemp("parts"))
    shutil.rmtree(folder)


def recorded(parts: Path) -> dict[str, str]:
    """images.tsv: reference -> image id."""
    rows = [line.split("\t") for line in (parts / "images.tsv").read_text().splitlines()]
    return {ref: image_id for ref, image_id, _file in rows}


def test_the_bundle_carries_every_image_the_cluster_runs_the_chart_and_the_pinned_tools(
    parts: Path, expected_images: set[str], instructors_docker: lab.Docker
) -> None:
    assert set(recorded(parts)) == {*expected_images, NODE_IMAGE}
    for ref, image_id in recorded(parts).items():
        assert instructors_docker.cli("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == image_id, ref
    assert sorted(p.name for p in (parts / "bin").iterdir()) == ["helm", "kind", "kubectl"]
    assert (parts / "charts" / KPS_CHART).is_file()
    assert (parts / "versions.env").read_bytes() == (ROOT / "versions.env").read_bytes()
    env = read_env(parts / "bundle.env")
    assert env["LAB_IMAGE"] == lab_image()
    assert env["NODE_IMAGE"] == NODE_IMAGE
    assert env["TOOLS_PLATFORM"] == f"{os.uname().sysname}/{os.uname().machine}"


@pytest.fixture(scope="module")
def learner(docker: lab.Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[lab.Docker, Path]]:
    home = tmp_path_factory.mktemp("learner")
    with learners_docker(docker.binary, home / "docker-home") as learners:
        yield learners, home
    shutil.rmtree(home)


def unpack(learner: tuple[lab.Docker, Path], bundle: Path) -> subprocess.CompletedProcess[str]:
    docker, home = learner
    return subprocess.run(
        ["bash", "tools/bundle/unpack.sh", str(bundle)], cwd=ROOT, capture_output=True, text=True, timeout=1800,
        check=False, env={**with_docker_cli(docker, home), "BPLAB_CACHE": str(home / "cache")},
    )  # fmt: skip


def damage(parts: Path) -> None:
    """One byte of the lab's image flipped, in the middle of its archive."""
    (victim,) = (p for p in (parts / "images").iterdir() if p.name.startswith("backpressure-lab_"))
    with victim.open("r+b") as f:
        f.seek(victim.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))


def set_env_field(parts: Path, key: str, value: str) -> None:
    env = parts / "bundle.env"
    env.write_text("".join(f"{key}={value}\n" if line.startswith(f"{key}=") else f"{line}\n"
                           for line in env.read_text().splitlines()))  # fmt: skip


def remove(*path: str) -> Callable[[Path], None]:
    return lambda parts: parts.joinpath(*path).unlink()


def set_field(key: str, value: str) -> Callable[[Path], None]:
    return lambda parts: set_env_field(parts, key, value)


def other_pins(parts: Path) -> None:
    (parts / "versions.env").write_text("HELM_VERSION=v3.0.0\n")


Refusal = tuple[Callable[[Path], None], bool, str]
"""How the bundle is changed, whether its SHA256SUMS are made anew (a bundle whole but different), the reason shown."""
REFUSALS: dict[str, Refusal] = {
    "a flipped byte": (damage, False, "is damaged"),
    "a file missing": (remove("bin", "kind"), False, "is damaged"),
    "not a bundle": (remove("images.tsv"), True, "is not a backpressure-lab bundle"),
    "other pins": (other_pins, True, "other pins"),
    "another lab image": (
        set_field("LAB_IMAGE", "backpressure-lab:0"),
        True,
        "carries the lab image backpressure-lab:0",
    ),
    "another CPU": (set_field("TOOLS_PLATFORM", "Darwin/arm64"), True, "holds tools for Darwin/arm64"),
}


@pytest.mark.parametrize("fault", sorted(REFUSALS))
def test_a_bundle_that_is_not_whole_or_not_for_this_checkout_is_refused_in_one_line_and_loads_nothing(
    fault: str, parts: Path, learner: tuple[lab.Docker, Path], tmp_path: Path
) -> None:
    mutate, resum, reason = REFUSALS[fault]
    copy = tmp_path / "parts"
    subprocess.run(["cp", "-a", str(parts), str(copy)], check=True, timeout=300)
    mutate(copy)
    proc = unpack(learner, repack(copy, tmp_path / "bundle.tar", resum=resum))
    shutil.rmtree(copy)
    (tmp_path / "bundle.tar").unlink()
    assert reason in one_error_line(proc)
    docker, home = learner
    assert docker.cli("images", "-q").stdout.split() == []
    assert not (home / "cache").exists() or not any((home / "cache").glob("*/bin/*"))


def test_a_file_that_is_not_an_archive_is_refused_in_one_line(learner: tuple[lab.Docker, Path], tmp_path: Path) -> None:
    (junk := tmp_path / "bundle.tar").write_bytes(b"not a tar archive\n" * 100)
    assert "is not a tar archive" in one_error_line(unpack(learner, junk))
    assert "no such file" in one_error_line(unpack(learner, tmp_path / "missing.tar"))


def test_a_fresh_machine_gets_every_image_with_its_id_the_pinned_tools_and_a_chart_that_needs_no_repository(
    bundle: Path, parts: Path, learner: tuple[lab.Docker, Path], tmp_path: Path
) -> None:
    proc = unpack(learner, bundle)
    assert proc.returncode == 0, proc.stderr
    loaded = [line for line in proc.stdout.splitlines() if not line.startswith("==> ")]
    assert loaded[0] == NODE_IMAGE
    assert set(loaded) == set(recorded(parts))
    docker, home = learner
    for ref, image_id in recorded(parts).items():
        assert docker.cli("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == image_id, ref

    cache = home / "cache"
    kind = cache / f"kind-{VERSIONS['KIND_VERSION']}" / "bin" / "kind"
    kubectl = cache / f"kubernetes-{VERSIONS['KUBERNETES_VERSION']}" / "bin" / "kubectl"
    helm = cache / f"helm-{VERSIONS['HELM_VERSION']}" / "bin" / "helm"
    assert (
        VERSIONS["KIND_VERSION"] in subprocess.run([kind, "version"], capture_output=True, text=True, check=True).stdout
    )
    client = json.loads(subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True,
                                       check=True).stdout)  # fmt: skip
    assert client["clientVersion"]["gitVersion"] == VERSIONS["KUBERNETES_VERSION"]
    rendered = Helm(helm, tmp_path / "no-repositories").run(
        "template", "kube-prometheus-stack", str(cache / "charts" / KPS_CHART), "--namespace=monitoring",
        f"--values={ROOT / 'deploy' / 'kube-prometheus-stack.yaml'}",
    )  # fmt: skip
    assert set(images(yaml.safe_load_all(rendered))) <= set(loaded)


def test_the_learners_daemon_leaves_the_tiers_daemon_its_network(
    learner: tuple[lab.Docker, Path], docker: lab.Docker, image: lab.BuildResult
) -> None:
    """The second daemon runs in a network namespace of its own: the first still runs containers on its docker0
    (a daemon started with --bridge=none deletes the host's docker0, which broke the tier's next `docker run`)."""
    probe = docker.cli("run", "--rm", "--label", "bplab.test=1", image.image, "python3", "-c", "print('ok')")
    assert probe.stdout.strip() == "ok"


def test_make_up_with_the_bundle_reaches_kinds_cluster_offline_without_go_and_with_the_bundles_node_image(
    bundle: Path, parts: Path, learner: tuple[lab.Docker, Path], tmp_path: Path
) -> None:
    """tools/kind/up.sh (`make up`) with BUNDLE on a laptop without Go and without the internet: it opens the bundle,
    takes its tools, skips the network check and creates kind's cluster from the bundle's node image. Here that image is
    an ImageStandIn, so kind's node cannot boot: the run must get as far as kind starting that node and fail there, not
    before (a network check, a missing Go, a pull)."""
    docker, home = learner
    env = with_docker_cli(docker, home)
    env |= {"PATH": f"{home / 'docker-cli'}:/usr/sbin:/usr/bin:/sbin:/bin", "BPLAB_CACHE": str(tmp_path / "cache"),
            "KUBECONFIG": str(tmp_path / "kubeconfig"), "BUNDLE": str(bundle)}  # fmt: skip
    kind = tmp_path / "cache" / f"kind-{VERSIONS['KIND_VERSION']}" / "bin" / "kind"
    try:
        proc = subprocess.run(["bash", "tools/kind/up.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=900, check=False)  # fmt: skip
    finally:
        if kind.exists():
            subprocess.run([kind, "delete", "cluster", "--name", "backpressure-lab"], env=env, capture_output=True,
                           timeout=300, check=False)  # fmt: skip
    FIGURES["make up BUNDLE= with a stand-in node image"] = proc.stderr.strip().splitlines()[-1:]
    assert proc.returncode != 0, proc.stdout
    assert f"==> loaded {len(recorded(parts))} images from {bundle} into Docker" in proc.stdout, proc.stdout
    assert f"==> creating kind cluster 'backpressure-lab' ({NODE_IMAGE})" in proc.stdout, proc.stdout
    # kind ran its node from the bundle's image (no pull) and waited for it to boot, which a stand-in never does.
    assert "could not find a log line that matches" in proc.stderr, proc.stderr
    assert "pull" not in proc.stderr
    assert kind.is_file()
    assert "network is offline" not in proc.stderr
    assert "Go is not installed" not in proc.stderr
