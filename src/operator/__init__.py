"""The backpressure-lab operator: a BackpressureConfig's spec becomes the live settings of the release's pods.

Small modules, one job each: `api` (names), `crd` (the CustomResourceDefinition, generated from the settings
declaration), `desired` (pure: spec -> settings), `pods` and `oom` (pure: what a pod body says), `ownership`
(pure: which config owns the release), `conditions` (pure: status conditions), `apply` (HTTP to the pods),
`kube` (the one ConfigMap the operator writes), `handlers` (kopf wiring), `__main__` (the process).
"""
