"""The API calls kopf does not make for us: the settings ConfigMap, the drift check's status patches, the scaling.

kopf patches only the object a handler is running for, and the runtime image carries no Kubernetes client library,
so this is a small aiohttp client for exactly get / create / merge-patch of one ConfigMap, merge-patch of a
BackpressureConfig's status and get / merge-patch of the consumer Deployment's scale, logged in with the same
credentials kopf uses (see `handlers.login`). On a 401 it logs in again once (service-account tokens rotate).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import kopf

from backpressure_lab.operator.api import GROUP, INSTANCE_LABEL, PLURAL, SETTINGS_KEY, VERSION

MANAGED_BY = "backpressure-lab-operator"
FIELD_MANAGER = MANAGED_BY


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    context = ssl.create_default_context(
        cafile=str(info.ca_path) if info.ca_path else None,
        cadata=info.ca_data.decode() if isinstance(info.ca_data, bytes) else info.ca_data,
    )
    if info.certificate_path and info.private_key_path:
        context.load_cert_chain(str(info.certificate_path), str(info.private_key_path))
    elif info.certificate_data or info.private_key_data:
        raise kopf.LoginError("client certificates given as data are not supported; use a token or file paths")
    return context


class KubeWriter:
    def __init__(self, login: Callable[[], kopf.ConnectionInfo], timeout_seconds: float) -> None:
        self._login = login
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _connect(self) -> tuple[kopf.ConnectionInfo, aiohttp.ClientSession]:
        if self._info is None or self._session is None:
            self._info = self._login()
            connector = aiohttp.TCPConnector(ssl=ssl_context(self._info), limit=4)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._info, self._session

    async def _request(self, method: str, path: str, body: object = None, content_type: str = "") -> Any:
        for attempt in (1, 2):
            info, session = self._connect()
            headers = {"Accept": "application/json"}
            if info.token:
                headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
            if content_type:
                headers["Content-Type"] = content_type
            # Every write names its field manager, so managedFields say which fields the operator owns (the settings
            # ConfigMap, the status, the consumer replicas) next to Helm's, which applies server-side.
            params = {"fieldManager": FIELD_MANAGER} if method != "GET" else {}
            url = info.server.rstrip("/") + path
            async with session.request(method, url, json=body, headers=headers, params=params) as reply:
                if reply.status == 401 and attempt == 1:
                    await self.close()
                    self._info = None
                    continue
                payload = await reply.json(content_type=None) if reply.content_length != 0 else {}
                if reply.status >= 400:
                    message = payload.get("message", "") if isinstance(payload, dict) else str(payload)
                    raise KubeError(reply.status, message)
                return payload
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def ensure(
        self, namespace: str, name: str, text: str, labels: Mapping[str, str], annotations: Mapping[str, str]
    ) -> bool:
        """Make the ConfigMap's settings key hold `text`; True if anything was written. No owner reference: the
        file outlives the config, so pods that restart after a delete keep their last settings (see the docs)."""
        path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
        try:
            current = await self._request("GET", path)
        except KubeError as error:
            if error.status != 404:
                raise
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "labels": dict(labels), "annotations": dict(annotations)},
                "data": {SETTINGS_KEY: text},
            }
            await self._request("POST", f"/api/v1/namespaces/{namespace}/configmaps", body, "application/json")
            return True
        if (current.get("data") or {}).get(SETTINGS_KEY) == text:
            return False
        patch = {"metadata": {"labels": dict(labels), "annotations": dict(annotations)}, "data": {SETTINGS_KEY: text}}
        await self._request("PATCH", path, patch, "application/merge-patch+json")
        return True

    async def patch_status(
        self, namespace: str, name: str, uid: str, resource_version: str | None, fields: Mapping[str, Any]
    ) -> None:
        """Merge-patch a BackpressureConfig's status, only if the object is still the one read (uid) and, given a
        resourceVersion, unchanged since: otherwise 409, and the caller tries again from fresh facts. This is what
        keeps an OOM kill from being counted twice when the watch lags behind the previous patch."""
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}/status"
        guard = {"uid": uid} if resource_version is None else {"uid": uid, "resourceVersion": resource_version}
        body = {"metadata": guard, "status": dict(fields)}
        await self._request("PATCH", path, body, "application/merge-patch+json")

    async def consumer_replicas(self, namespace: str, deployment: str) -> int:
        """The Deployment's spec.replicas, read through its scale subresource (all the Role grants)."""
        scale = await self._request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale")
        return int((scale.get("spec") or {}).get("replicas") or 0)

    async def scale_consumers(self, namespace: str, deployment: str, replicas: int) -> None:
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale"
        await self._request("PATCH", path, {"spec": {"replicas": replicas}}, "application/merge-patch+json")


def configmap_labels(release: str) -> dict[str, str]:
    return {
        INSTANCE_LABEL: release,
        "app.kubernetes.io/part-of": "backpressure-lab",
        "app.kubernetes.io/component": "settings",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
