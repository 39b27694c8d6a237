"""tools/bundle/images.py: every image a rendered manifest runs, so that a bundle leaves nothing to pull."""

from __future__ import annotations

from typing import Any

from tools.bundle.images import images

CRON_JOB: dict[str, Any] = {
    "kind": "CronJob",
    "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "cron:1"}]}}}}},
}
DEPLOYMENT: dict[str, Any] = {
    "kind": "Deployment",
    "spec": {
        "template": {
            "spec": {
                "initContainers": [{"name": "init", "image": "init:1"}],
                "containers": [
                    {
                        "name": "operator",
                        "image": "operator:1",
                        "args": ["--log-level=info", "--prometheus-config-reloader=reloader:1"],
                    }
                ],
            }
        }
    },
}
HOOK_POD: dict[str, Any] = {
    "kind": "Pod",
    "metadata": {"annotations": {"helm.sh/hook": "test"}},
    "spec": {"containers": [{"name": "t", "image": "test:1"}]},
}
PROMETHEUS: dict[str, Any] = {"kind": "Prometheus", "spec": {"image": "prometheus:1", "replicas": 1}}
CONFIG_MAP: dict[str, Any] = {"kind": "ConfigMap", "data": {"image": "not-an-image:1"}}


def test_every_way_a_manifest_runs_an_image_is_found_once_and_sorted() -> None:
    found = images([DEPLOYMENT, CRON_JOB, HOOK_POD, PROMETHEUS, CONFIG_MAP, None, DEPLOYMENT])
    assert found == ["cron:1", "init:1", "operator:1", "prometheus:1", "reloader:1", "test:1"]


def test_an_operator_resource_without_an_image_and_a_pod_without_containers_add_nothing() -> None:
    assert images([{"kind": "Alertmanager", "spec": {}}, {"kind": "Pod", "spec": {}}, {"kind": "Job"}]) == []
