"""The operator's own configuration, from the environment the chart's Deployment sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DRIFT_CHECK_SECONDS = 5.0
DEFAULT_LIVENESS_ENDPOINT = "http://0.0.0.0:8080/healthz"


class ConfigError(ValueError):
    """A missing or malformed variable: the operator stops at start with one line naming it."""


@dataclass(frozen=True)
class OperatorConfig:
    release: str
    """BPLAB_RELEASE: the app.kubernetes.io/instance label value of the pods to configure."""
    settings_configmap: str
    """BPLAB_SETTINGS_CONFIGMAP: the ConfigMap the pods mount (key settings.yaml)."""
    admin_token: str | None
    """BPLAB_ADMIN_TOKEN: bearer token for the pods' /admin/* (None when the services run without one)."""
    drift_check_seconds: float
    """BPLAB_DRIFT_CHECK_SECONDS: how often every pod's live settings are compared with the desired ones."""
    consumer_deployment: str = ""
    """BPLAB_CONSUMER_DEPLOYMENT: the Deployment spec.consumer.autoscale scales (default: <release>-consumer)."""
    autoscale_seconds: float = 2.0
    """How often the producers' queues are sampled, the autoscaler decides and the consumer list is synced."""
    http_timeout_seconds: float = 2.0
    """A pod that takes longer is reported Failed and retried at the next drift check."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env
        missing = [name for name in ("BPLAB_RELEASE", "BPLAB_SETTINGS_CONFIGMAP") if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set (the chart's operator Deployment sets them)")
        return cls(
            release=env["BPLAB_RELEASE"].strip(),
            settings_configmap=env["BPLAB_SETTINGS_CONFIGMAP"].strip(),
            admin_token=env.get("BPLAB_ADMIN_TOKEN", "").strip() or None,
            drift_check_seconds=drift_check_seconds(env),
            consumer_deployment=env.get("BPLAB_CONSUMER_DEPLOYMENT", "").strip()
            or f"{env['BPLAB_RELEASE'].strip()}-consumer",
        )


def drift_check_seconds(env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    text = env.get("BPLAB_DRIFT_CHECK_SECONDS", "").strip()
    if not text:
        return DEFAULT_DRIFT_CHECK_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise ConfigError(f"BPLAB_DRIFT_CHECK_SECONDS must be a number of seconds > 0 and <= 3600 (got {text!r})")
    return value


def watched_namespace(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    namespace = env.get("POD_NAMESPACE", "").strip()
    if not namespace:
        raise ConfigError("POD_NAMESPACE must be set (the Deployment sets it from the downward API)")
    return namespace
