"""A CRD becomes Established, serves custom objects, and a watch sees them change."""

from __future__ import annotations

from typing import Any, cast

import pytest
from kubernetes import client, watch

from tests.waiting import poll

pytestmark = pytest.mark.controlplane

GROUP, VERSION, PLURAL = "lab.backpressure.example", "v1alpha1", "widgets"


def widget_crd() -> client.V1CustomResourceDefinition:
    schema = client.V1JSONSchemaProps(
        type="object",
        properties={
            "spec": client.V1JSONSchemaProps(
                type="object", properties={"rate": client.V1JSONSchemaProps(type="integer", minimum=0)}
            ),
            "status": client.V1JSONSchemaProps(type="object", x_kubernetes_preserve_unknown_fields=True),
        },
    )
    return client.V1CustomResourceDefinition(
        metadata=client.V1ObjectMeta(name=f"{PLURAL}.{GROUP}"),
        spec=client.V1CustomResourceDefinitionSpec(
            group=GROUP,
            scope="Namespaced",
            names=client.V1CustomResourceDefinitionNames(plural=PLURAL, singular="widget", kind="Widget"),
            versions=[
                client.V1CustomResourceDefinitionVersion(
                    name=VERSION, served=True, storage=True,
                    schema=client.V1CustomResourceValidation(open_apiv3_schema=schema),
                    subresources=client.V1CustomResourceSubresources(status={}),
                )
            ],
        ),
    )  # fmt: skip


def wait_established(ext: client.ApiextensionsV1Api, name: str, timeout: float = 30) -> None:
    def established() -> bool:
        crd = ext.read_custom_resource_definition(name)
        conditions = (crd.status and crd.status.conditions) or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    if not poll(established, timeout=timeout, interval=0.1).done:
        pytest.fail(f"CRD {name} not Established within {timeout} s")


@pytest.fixture(scope="module")
def widget_crd_installed(api_client: client.ApiClient) -> str:
    ext = client.ApiextensionsV1Api(api_client)
    name = f"{PLURAL}.{GROUP}"
    try:
        ext.create_custom_resource_definition(widget_crd())
    except client.ApiException as err:
        if err.status != 409:
            raise
    wait_established(ext, name)
    return name


def test_crd_is_established_and_serves_custom_objects(
    api_client: client.ApiClient, widget_crd_installed: str, namespace: str
) -> None:
    custom = client.CustomObjectsApi(api_client)
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"rate": 5},
    }  # fmt: skip
    created = cast(dict[str, Any], custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body))
    assert created["spec"] == {"rate": 5}
    assert created["metadata"]["uid"]


def test_structural_schema_rejects_an_invalid_object(
    api_client: client.ApiClient, widget_crd_installed: str, namespace: str
) -> None:
    custom = client.CustomObjectsApi(api_client)
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": "bad"}, "spec": {"rate": -1}}
    with pytest.raises(client.ApiException) as excinfo:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert excinfo.value.status == 422


def test_watch_sees_the_custom_object_change(
    api_client: client.ApiClient, widget_crd_installed: str, namespace: str
) -> None:
    custom = client.CustomObjectsApi(api_client)
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": "w2"}, "spec": {"rate": 1}}
    created = cast(dict[str, Any], custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body))
    # Watch from the version we created: every later change arrives, in order, whenever the watch starts.
    since = created["metadata"]["resourceVersion"]
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w2", {"spec": {"rate": 7}})
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "w2", {"status": {"observedRate": 7}}
    )

    seen: list[tuple[str, int, dict[str, Any]]] = []
    stream = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(  # type: ignore[no-untyped-call]
        custom.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
        resource_version=since, timeout_seconds=15,
    ):  # fmt: skip
        obj = event["object"]
        seen.append((event["type"], obj["spec"]["rate"], obj.get("status") or {}))
        if obj.get("status", {}).get("observedRate") == 7:
            stream.stop()  # type: ignore[no-untyped-call]
    assert seen == [("MODIFIED", 7, {}), ("MODIFIED", 7, {"observedRate": 7})]
