"""Names of the custom resource and of the labels that select a release's pods, in one place."""

from __future__ import annotations

GROUP = "lab.backpressure.dev"
VERSION = "v1alpha1"
KIND = "BackpressureConfig"
PLURAL = "backpressureconfigs"
SINGULAR = "backpressureconfig"
SHORT_NAMES = ("bpc",)
API_VERSION = f"{GROUP}/{VERSION}"
CRD_NAME = f"{PLURAL}.{GROUP}"

INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENTS = ("producer", "consumer")
HTTP_PORT_NAME = "http"

SETTINGS_KEY = "settings.yaml"
