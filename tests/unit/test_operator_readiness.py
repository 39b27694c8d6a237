"""`helm test`'s verdict on the config (operator/readiness.py): every pod on the current generation, or it fails."""

from __future__ import annotations

from typing import Any

from backpressure_lab.operator.readiness import problems


def config(generation: int, pods: list[tuple[str, str, str, int]], ready: str = "True") -> dict[str, Any]:
    return {
        "metadata": {"name": "backpressure-lab", "generation": generation},
        "status": {
            "observedGeneration": generation,
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": "AllPodsCurrent",
                    "message": "",
                    "observedGeneration": generation,
                }
            ],
            "pods": [{"name": n, "component": c, "phase": p, "generation": g} for n, c, p, g in pods],
        },
    }


CURRENT_PODS = [("p-0", "producer", "Current", 3), ("c-0", "consumer", "Current", 3)]


def test_every_pod_current_on_this_generation_passes() -> None:
    assert problems(config(3, CURRENT_PODS)) == []


def test_a_pod_on_an_older_generation_fails() -> None:
    stale = config(3, [("p-0", "producer", "Current", 3), ("c-0", "consumer", "Current", 2)])
    assert problems(stale) == ["pod c-0 is Current on generation 2, not Current on 3"]


def test_an_unrecorded_generation_or_a_missing_component_fails() -> None:
    body = config(3, CURRENT_PODS)
    body["metadata"]["generation"] = 4
    assert "the operator has not recorded generation 4 yet" in problems(body)
    alone = config(3, CURRENT_PODS[:1])
    assert problems(alone) == ["no consumer pod in status.pods"]
    assert problems(config(3, CURRENT_PODS, ready="False"))[0].startswith("Ready for generation 3: False")
