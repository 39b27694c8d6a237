"""The operator's environment: what the chart's Deployment sets, and one clear line when something is missing."""

from __future__ import annotations

import pytest

from backpressure_lab.operator.config import ConfigError, OperatorConfig, drift_check_seconds, watched_namespace

ENV = {"BPLAB_RELEASE": "lab", "BPLAB_SETTINGS_CONFIGMAP": "lab-backpressure-lab-settings"}


def test_from_env_reads_what_the_chart_sets() -> None:
    config = OperatorConfig.from_env({**ENV, "BPLAB_ADMIN_TOKEN": " secret\n", "BPLAB_DRIFT_CHECK_SECONDS": "2.5"})
    assert (config.release, config.settings_configmap, config.admin_token) == (
        "lab",
        ENV["BPLAB_SETTINGS_CONFIGMAP"],
        "secret",
    )
    assert config.drift_check_seconds == 2.5
    assert OperatorConfig.from_env(ENV).admin_token is None
    assert OperatorConfig.from_env(ENV).drift_check_seconds == 5.0


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, "BPLAB_RELEASE and BPLAB_SETTINGS_CONFIGMAP must be set"),
        ({**ENV, "BPLAB_DRIFT_CHECK_SECONDS": "0"}, "BPLAB_DRIFT_CHECK_SECONDS must be"),
        ({**ENV, "BPLAB_DRIFT_CHECK_SECONDS": "soon"}, "(got 'soon')"),
    ],
)
def test_bad_environment_is_one_line_naming_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        OperatorConfig.from_env(env)
    assert words in str(caught.value)


def test_namespace_comes_from_the_downward_api() -> None:
    assert watched_namespace({"POD_NAMESPACE": "lab"}) == "lab"
    with pytest.raises(ConfigError):
        watched_namespace({})
    assert drift_check_seconds({}) == 5.0
