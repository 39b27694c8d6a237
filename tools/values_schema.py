"""Generates the chart's values.schema.json: a typo or an out-of-range lab setting fails `helm install`.

The `config.spec` part comes from the services' single settings declaration (the same bounds as the HTTP API and
the CRD). Run `python tools/values_schema.py > charts/backpressure-lab/values.schema.json` (make chart-files);
tests/unit/test_chart_files.py fails when the committed file differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backpressure_lab.common.settings import json_schema
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.operator.autoscale_spec import AutoscaleSettings
from backpressure_lab.producer.settings import ProducerSettings

STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
NODE_PORT = {"type": "integer", "minimum": 30000, "maximum": 32767}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
# auto: on when the cluster serves the integration's API (the chart asks .Capabilities.APIVersions).
INTEGRATION = {"enum": ["auto", True, False]}
DNS_LABEL = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"}
ANY_OBJECT = {"type": "object"}


def strict(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def image() -> dict[str, Any]:
    return strict(
        {
            "repository": {"type": "string", "minLength": 1},
            "tag": STRING,
            "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
        },
        ["repository"],
    )


def resources() -> dict[str, Any]:
    quantity = {"type": ["string", "number"]}
    amounts = {"type": "object", "properties": {"cpu": quantity, "memory": quantity}, "additionalProperties": quantity}
    limits = {
        **amounts,
        "required": ["memory"],
        "description": "A memory limit is required: the OOM kill is the lesson.",
    }
    return strict({"requests": amounts, "limits": limits}, ["limits"])


def scheduling() -> dict[str, Any]:
    return {
        "nodeSelector": LABELS,
        "tolerations": {"type": "array"},
        "affinity": ANY_OBJECT,
        "extraEnv": {"type": "array", "items": {"type": "object", "required": ["name"]}},
    }


def service_component() -> dict[str, Any]:
    return strict(
        {
            "image": image(),
            "replicas": {"type": "integer", "minimum": 0, "maximum": 20},
            "resources": resources(),
            "service": strict(
                {"type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]}, "port": PORT, "nodePort": NODE_PORT}
            ),
            "probes": strict({"liveness": ANY_OBJECT, "readiness": ANY_OBJECT}),
            **scheduling(),
        }
    )


def settings_spec() -> dict[str, Any]:
    producer = json_schema(ProducerSettings, camel_case=True, with_defaults=False, dialect="draft-07")
    consumer = json_schema(ConsumerSettings, camel_case=True, with_defaults=False, dialect="draft-07")
    autoscale = json_schema(AutoscaleSettings, camel_case=True, with_defaults=False, dialect="draft-07")
    for part in (producer, consumer, autoscale):
        part["additionalProperties"] = False
        part.pop("x-kubernetes-validations", None)
    consumer["properties"]["autoscale"] = autoscale
    return strict({"producer": producer, "consumer": consumer})


def values_schema() -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "backpressure-lab values",
        **strict(
            {
                "nameOverride": STRING,
                "fullnameOverride": STRING,
                "config": strict({"create": BOOLEAN, "name": DNS_LABEL, "spec": settings_spec()}),
                "adminToken": strict({"existingSecret": STRING}),
                "producer": service_component(),
                "consumer": service_component(),
                "operator": strict(
                    {
                        "image": image(),
                        "resources": resources(),
                        "serviceAccount": strict({"name": STRING}),
                        "driftCheckSeconds": {"type": "number", "minimum": 1, "maximum": 300},
                        **scheduling(),
                    }
                ),
                "jaeger": strict(
                    {
                        "enabled": BOOLEAN,
                        "image": image(),
                        "resources": resources(),
                        "maxTraces": {"type": "integer", "minimum": 1000},
                        "service": strict({"type": {"enum": ["ClusterIP", "NodePort"]}, "uiNodePort": NODE_PORT}),
                    }
                ),
                "tracing": strict({"enabled": BOOLEAN, "endpoint": STRING, "sampler": STRING, "samplerArg": STRING}),
                "serviceMonitor": strict(
                    {
                        "enabled": INTEGRATION,
                        "additionalLabels": LABELS,
                        "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m)$"},
                    }
                ),
                "prometheusRule": strict({"enabled": INTEGRATION, "additionalLabels": LABELS}),
                "dashboards": strict({"enabled": BOOLEAN, "additionalLabels": LABELS, "jaegerUrl": STRING}),
            }
        ),
    }


if __name__ == "__main__":
    json.dump(values_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
