"""Shared by every tier: the real control plane's fixtures are registered once for the whole session, so the
controlplane, operator and chart tiers use one etcd + kube-apiserver (started only when a test asks for it)."""

pytest_plugins = ["tests.controlplane.fixtures"]
