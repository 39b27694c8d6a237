"""The control plane runs the release pinned in versions.env, stamped the way upstream stamps it."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.controlplane.cluster import ControlPlane, read_versions

pytestmark = pytest.mark.controlplane


def test_server_version_reports_the_pinned_release(api_client: client.ApiClient) -> None:
    pinned = read_versions()["KUBERNETES_VERSION"]
    info = client.VersionApi(api_client).get_code()
    assert info.git_version == pinned
    assert (info.major, info.minor) == ("1", pinned.split(".")[1])
    assert info.git_tree_state == "clean"
    assert info.build_date.startswith("20")


def test_kubectl_reports_the_pinned_release_for_client_and_server(control_plane: ControlPlane) -> None:
    pinned = read_versions()["KUBERNETES_VERSION"]
    versions = json.loads(control_plane.kubectl("version", "--output=json"))
    assert versions["clientVersion"]["gitVersion"] == pinned
    assert versions["serverVersion"]["gitVersion"] == pinned
