"""Every exercise manifest under examples/ is accepted by the real API server as a learner applies it: `kubectl
apply -f examples/NN-*.yaml` (the YAML as written, so a word like off that YAML reads as a boolean would fail)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.controlplane.cluster import ControlPlane

pytestmark = pytest.mark.controlplane

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("manifest", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_kubectl_apply_of_each_example_is_accepted(
    control_plane: ControlPlane, crd_installed: str, namespace: str, manifest: Path
) -> None:
    out = control_plane.kubectl("-n", namespace, "apply", "--dry-run=server", "-f", str(manifest))
    assert "backpressureconfig.lab.backpressure.dev/backpressure-lab" in out
