"""Small builders of pod objects for engine tests."""
from __future__ import annotations

import copy
from typing import Any


def restricted_container(name: str = "c", **security: Any) -> dict:
    """A container that passes every restricted check on its own."""
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    sc.update(security)
    return {"name": name, "image": "registry.example/app:1", "securityContext": sc}


def restricted_pod(*containers: dict, name: str = "p", pod_security: dict | None = None, **spec: Any) -> dict:
    """A Pod that passes restricted at every version unless the arguments change it."""
    sc = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if pod_security is not None:
        sc.update(pod_security)
    body = {"securityContext": sc, "containers": list(containers) or [restricted_container()]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


def bare_pod(*containers: dict, annotations: dict | None = None, **spec: Any) -> dict:
    """A Pod with only what is given: no security context at all."""
    metadata: dict = {"name": "p"}
    if annotations is not None:
        metadata["annotations"] = annotations
    body = {"containers": list(containers) or [{"name": "c", "image": "x"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": body}


def with_template(kind: str, pod: dict) -> dict:
    """Wrap a Pod's metadata and spec as the pod template of a workload kind."""
    template = {"metadata": copy.deepcopy(pod["metadata"]), "spec": copy.deepcopy(pod["spec"])}
    if kind == "PodTemplate":
        return {"kind": kind, "metadata": {"name": "w"}, "template": template}
    if kind == "CronJob":
        return {"kind": kind, "metadata": {"name": "w"}, "spec": {"jobTemplate": {"spec": {"template": template}}}}
    return {"kind": kind, "metadata": {"name": "w"}, "spec": {"template": template}}
